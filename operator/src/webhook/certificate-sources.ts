/**
 * Where the serving certificate comes from, and how a new one reaches the running server:
 * - SelfManagedCertificates: the operator issues and renews it (leader only) in a Secret that every
 *   replica reads, and keeps the webhook configuration's caBundle in step;
 * - FileCertificates: someone else (cert-manager) writes it into a mounted Secret; we reload it.
 * Both call `onCertificate` whenever the pair to serve changes, and retry on their interval.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Timers } from '../kube/timers.js';
import type { CaBundleTarget } from './ca-bundle.js';
import { applyCertificatePlan, planWebhookCertificates, type KeyPairPem } from './certificates.js';
import type { TlsSecretStore } from './tls-secret-store.js';

export interface CertificateSource {
  start(): void;
  /** Run a round now (e.g. on gaining leadership); rounds never overlap. */
  refresh(): void;
  stop(): Promise<void>;
}

type OnCertificate = (pair: KeyPairPem) => void;

/** Runs `round` now and then every `intervalMs`, one at a time; a refresh during a round queues one more. */
class Rounds {
  private timer: unknown;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly round: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly timers: Timers,
    private readonly onError: (error: unknown) => void,
  ) {}

  kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.timers.clearTimeout(this.timer);
    this.running = this.round()
      .catch(this.onError)
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
        } else {
          this.timer = this.timers.setTimeout(() => this.kick(), this.intervalMs);
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.timers.clearTimeout(this.timer);
    await this.running;
  }
}

export interface SelfManagedCertificateOptions {
  /** Names the API server calls the webhook by (service DNS names; 127.0.0.1 in tests). */
  hosts: string[];
  caCommonName: string;
  checkIntervalMs: number;
}

export interface SelfManagedCertificateDeps {
  store: TlsSecretStore;
  caBundleTarget: CaBundleTarget;
  isLeader(): boolean;
  now(): Date;
  timers: Timers;
  logger: Logger;
  onCertificate: OnCertificate;
}

export class SelfManagedCertificates implements CertificateSource {
  private readonly rounds: Rounds;
  private served: string | undefined;

  constructor(
    private readonly options: SelfManagedCertificateOptions,
    private readonly deps: SelfManagedCertificateDeps,
  ) {
    this.rounds = new Rounds(
      () => this.runRound(),
      options.checkIntervalMs,
      deps.timers,
      (error) => deps.logger.warn({ err: errorMessage(error) }, 'webhook certificate round failed; retrying'),
    );
  }

  start(): void {
    this.rounds.kick();
  }

  refresh(): void {
    this.rounds.kick();
  }

  stop(): Promise<void> {
    return this.rounds.stop();
  }

  /**
   * One round: read the Secret; as leader, make the API server trust the stored CA bundle and, only if
   * that worked, take at most one step of the plan (so a new CA is trusted a full round before it
   * signs the certificate replicas serve); finally serve what the Secret holds.
   */
  async runRound(): Promise<void> {
    const { store, logger } = this.deps;
    const stored = await store.read();
    let material = stored.material;
    if (this.deps.isLeader() && (material === undefined || (await this.trust(material.caBundle)))) {
      const plan = planWebhookCertificates(material, this.options.hosts, this.deps.now());
      if (plan.action !== 'keep') {
        logger.info({ action: plan.action, reason: plan.reason }, 'updating webhook certificates');
        const next = await applyCertificatePlan(
          plan,
          material,
          this.options.hosts,
          this.deps.now(),
          this.options.caCommonName,
        );
        await store.write(next, stored.resourceVersion);
        material = next;
        // Safe to serve even if this fails: a step never changes both the CA and the serving certificate.
        await this.trust(material.caBundle);
      }
    }
    if (material === undefined) {
      logger.debug('no webhook certificate yet; waiting for the leader to issue one');
      return;
    }
    this.serve(material.serving);
  }

  /** Resolves false (after logging why) when the caBundle could not be checked or patched. */
  private async trust(caBundle: string): Promise<boolean> {
    try {
      const changed = await this.deps.caBundleTarget.ensure(caBundle);
      if (changed > 0)
        this.deps.logger.info({ webhooks: changed }, 'patched caBundle into the webhook configuration');
      return true;
    } catch (error) {
      this.deps.logger.warn(
        { err: errorMessage(error) },
        'cannot update the caBundle of the webhook configuration',
      );
      return false;
    }
  }

  private serve(pair: KeyPairPem): void {
    if (pair.certPem === this.served) return;
    this.served = pair.certPem;
    this.deps.onCertificate(pair);
  }
}

export interface FileCertificateOptions {
  /** A directory with tls.crt and tls.key (a mounted kubernetes.io/tls Secret). */
  directory: string;
  reloadIntervalMs: number;
}

export interface FileCertificateDeps {
  timers: Timers;
  logger: Logger;
  onCertificate: OnCertificate;
  readText?: (path: string) => Promise<string>;
}

export class FileCertificates implements CertificateSource {
  private readonly rounds: Rounds;
  private served: string | undefined;
  private lastProblem: string | undefined;

  constructor(
    private readonly options: FileCertificateOptions,
    private readonly deps: FileCertificateDeps,
  ) {
    this.rounds = new Rounds(
      () => this.reload(),
      options.reloadIntervalMs,
      deps.timers,
      (error) => this.report(errorMessage(error)),
    );
  }

  start(): void {
    this.rounds.kick();
  }

  refresh(): void {
    this.rounds.kick();
  }

  stop(): Promise<void> {
    return this.rounds.stop();
  }

  async reload(): Promise<void> {
    const read = this.deps.readText ?? ((path: string) => readFile(path, 'utf8'));
    const certPem = await read(join(this.options.directory, 'tls.crt'));
    const keyPem = await read(join(this.options.directory, 'tls.key'));
    if (certPem === this.served) return;
    // The kubelet swaps the files one symlink at a time: a half-updated pair is skipped until the next round.
    if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) {
      throw new Error(`tls.crt and tls.key in ${this.options.directory} do not match (yet)`);
    }
    this.served = certPem;
    this.lastProblem = undefined;
    this.deps.logger.info({ directory: this.options.directory }, 'loaded webhook serving certificate');
    this.deps.onCertificate({ certPem, keyPem });
  }

  /** Logs a problem once, not every round. */
  private report(problem: string): void {
    if (problem === this.lastProblem) return;
    this.lastProblem = problem;
    this.deps.logger.warn({ err: problem }, 'cannot load the webhook serving certificate; retrying');
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
