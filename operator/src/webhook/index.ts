/**
 * The admission webhook as one unit the operator's main starts: the HTTPS server for POST
 * /mutate-pods, its certificate source (self-managed or mounted files), and the leader's check for
 * opted-in pods that run without the sidecar.
 *
 *   const parsed = parseWebhookOptions(process.env, { operatorNamespace, addr: options.webhook.addr });
 *   const webhook = await startAdmissionWebhook(parsed.options, { kube, logger, registry, isLeader, onLeadership, ... });
 *   ...
 *   await webhook.stop();
 */
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeClient } from '../kube/client.js';
import { createEventRecorder, type EventRecorder } from '../kube/events.js';
import { realTimers, type Timers } from '../kube/timers.js';
import { createCaBundleTarget } from './ca-bundle.js';
import { FileCertificates, SelfManagedCertificates, type CertificateSource } from './certificate-sources.js';
import { certificateExpiry, type KeyPairPem } from './certificates.js';
import { createWebhookMetrics } from './metrics.js';
import type { WebhookOptions } from './options.js';
import { buildWebhookApp } from './server.js';
import type { InjectionSettings } from './settings.js';
import { createTlsSecretStore } from './tls-secret-store.js';
import { UnprotectedPodsCheck } from './unprotected-pods-check.js';

export { parseWebhookOptions, WEBHOOK_ENV, type WebhookOptions } from './options.js';
export { findInjectedSidecar, injectSidecar, isOptedIn } from './inject.js';
export * from './labels.js';

export interface AdmissionWebhookDeps {
  kube: KubeClient;
  logger: Logger;
  registry: Registry;
  /** Whether this replica leads: only the leader issues certificates, patches caBundle and reports unprotected pods. */
  isLeader(): boolean;
  /** Subscribes to leadership changes; on gaining it the certificates are checked at once. */
  onLeadership(listener: (leading: boolean) => void): void;
  /** The PEM public key sidecars verify config bundles with. */
  configPublicKeyPem: string;
  /** The operator's version (annotation on injected pods). */
  version: string;
  /** This replica's name, for the Events it records. */
  instance: string;
  /** Where Warning Events about unprotected pods go (default: a recorder of our own). */
  events?: EventRecorder;
  namespace: string;
  timers?: Timers;
}

export interface AdmissionWebhook {
  /** The port actually bound (differs from options when 0 was asked). */
  port: number;
  /** True once a serving certificate is loaded. */
  isReady(): boolean;
  stop(): Promise<void>;
}

const TLS_OPTIONS = { minVersion: 'TLSv1.2' } as const;

export async function startAdmissionWebhook(
  options: WebhookOptions,
  deps: AdmissionWebhookDeps,
): Promise<AdmissionWebhook> {
  const logger = deps.logger.child({ component: 'webhook' });
  const timers = deps.timers ?? realTimers;
  const metrics = createWebhookMetrics(deps.registry);
  const settings: InjectionSettings = {
    ...options.sidecar,
    version: deps.version,
    configPublicKeyPem: deps.configPublicKeyPem,
    excludedNamespaces: options.excludedNamespaces,
  };
  let ready = false;
  // Listening starts without a certificate (handshakes fail until one is loaded), so a taken port
  // fails the start at once instead of after the first issuance.
  const app = buildWebhookApp(
    { logger, metrics, settings, isReady: () => ready },
    { https: { ...TLS_OPTIONS } },
  );
  const onCertificate = (pair: KeyPairPem) => {
    (app.server as unknown as TlsServer).setSecureContext({
      ...TLS_OPTIONS,
      key: pair.keyPem,
      cert: pair.certPem,
    });
    ready = true;
    metrics.certificateExpiry.set(Math.floor((certificateExpiry(pair.certPem)?.getTime() ?? 0) / 1000));
    logger.info({ notAfter: certificateExpiry(pair.certPem)?.toISOString() }, 'serving webhook certificate');
  };

  const certs = options.certificates;
  const source: CertificateSource =
    certs.mode === 'self-managed'
      ? new SelfManagedCertificates(
          {
            hosts: certs.hosts,
            caCommonName: `scopegate-webhook-ca.${deps.namespace}`,
            checkIntervalMs: certs.checkIntervalMs,
          },
          {
            store: createTlsSecretStore(deps.kube, { namespace: deps.namespace, name: certs.secretName }),
            caBundleTarget: createCaBundleTarget(deps.kube, certs.webhookConfigurationName),
            isLeader: deps.isLeader,
            now: () => new Date(timers.now()),
            timers,
            logger,
            onCertificate,
          },
        )
      : new FileCertificates(
          { directory: certs.directory, reloadIntervalMs: certs.reloadIntervalMs },
          { timers, logger, onCertificate },
        );

  const unprotected = options.unprotectedPods.enabled
    ? new UnprotectedPodsCheck(
        {
          intervalMs: options.unprotectedPods.intervalMs,
          repeatAfterMs: options.unprotectedPods.repeatAfterMs,
          excludedNamespaces: options.excludedNamespaces,
        },
        {
          kube: deps.kube,
          events:
            deps.events ??
            createEventRecorder(
              deps.kube,
              { controller: 'scopegate.io/operator', instance: deps.instance },
              (error) =>
                logger.warn(
                  { err: error instanceof Error ? error.message : String(error) },
                  'could not record an Event',
                ),
            ),
          logger,
          gauge: metrics.unprotectedPods,
          timers,
          isLeader: deps.isLeader,
        },
      )
    : undefined;

  await app.listen({ host: options.addr.host, port: options.addr.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.addr.port;
  logger.info({ host: options.addr.host, port, certificates: certs.mode }, 'admission webhook listening');
  source.start();
  unprotected?.start();
  let stopped = false;
  deps.onLeadership((leading) => {
    if (leading && !stopped) source.refresh();
  });

  return {
    port,
    isReady: () => ready,
    async stop() {
      stopped = true;
      await unprotected?.stop();
      await source.stop();
      await app.close();
    },
  };
}
