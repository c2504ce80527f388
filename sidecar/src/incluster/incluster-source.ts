/**
 * In-cluster mode's config source: bundles pushed by the operator (PUT /v1/config on the admin
 * port) and the last accepted one persisted on disk. A bundle is accepted only when signed by the
 * operator's key and newer than the revision in force: no rollback, no replay.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { ConfigBundleError, verifyConfigBundle } from '../config/bundle.js';
import { SidecarStartupError, type AdminErrorCode } from '../errors.js';
import type { ConfigStore } from '../state/config-store.js';
import type { SidecarMetrics } from '../telemetry/metrics.js';
import type { BundleFile } from './bundle-file.js';

export type PushOutcome =
  | { ok: true; revision: number; digest: string; persisted: boolean }
  | { ok: false; status: 400 | 403 | 409; code: AdminErrorCode; message: string };

export interface InClusterDeps {
  publicKey: KeyObject;
  bundleFile: BundleFile;
  store: ConfigStore;
  logger: Logger;
  metrics: SidecarMetrics;
}

/** Reads the operator's ES256 public key (PEM); anything else is a startup mistake. */
export async function loadConfigPublicKey(path: string): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    throw new SidecarStartupError(`cannot read --config-public-key ${path}: ${(error as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new SidecarStartupError(
      `--config-public-key ${path} is not a PEM public key: ${(error as Error).message}`,
    );
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new SidecarStartupError(`--config-public-key ${path} must be an ES256 (EC P-256) public key`);
  }
  return key;
}

export class InClusterConfigSource {
  readonly #deps: InClusterDeps;

  constructor(deps: InClusterDeps) {
    this.#deps = deps;
  }

  /** Applies the persisted bundle if there is a valid one; a bad file is ignored with a log line. */
  async loadPersisted(): Promise<void> {
    const { bundleFile, logger, metrics } = this.#deps;
    let jws: string | undefined;
    try {
      jws = await bundleFile.read();
    } catch (error) {
      logger.warn(
        { file: bundleFile.path, error: (error as Error).message },
        'cannot read the persisted config; ignoring it',
      );
      return;
    }
    if (jws === undefined) return;
    try {
      const config = await verifyConfigBundle(jws.trim(), this.#deps.publicKey);
      await this.#deps.store.apply(config, { source: 'persisted', requireNewer: true });
      metrics.configReloads.inc({ source: 'persisted', result: 'applied' });
      logger.info({ revision: config.revision }, 'applied the persisted config');
    } catch (error) {
      const result =
        error instanceof ConfigBundleError && error.code === 'ERR_BUNDLE_SIGNATURE'
          ? 'signature_invalid'
          : 'invalid';
      metrics.configReloads.inc({ source: 'persisted', result });
      logger.warn(
        { file: bundleFile.path, error: (error as Error).message },
        'ignored the persisted config: it is not a valid bundle signed by the operator key',
      );
    }
  }

  /** Handles one pushed bundle (the compact JWS text). */
  async accept(jws: string): Promise<PushOutcome> {
    const { bundleFile, logger, metrics, store } = this.#deps;
    let config;
    try {
      config = await verifyConfigBundle(jws.trim(), this.#deps.publicKey);
    } catch (error) {
      if (error instanceof ConfigBundleError && error.code === 'ERR_BUNDLE_SIGNATURE') {
        metrics.configReloads.inc({ source: 'push', result: 'signature_invalid' });
        logger.warn('refused a pushed config: its signature does not verify with the operator key');
        return {
          ok: false,
          status: 403,
          code: 'config_signature_invalid',
          message: 'the bundle is not signed by the operator key',
        };
      }
      metrics.configReloads.inc({ source: 'push', result: 'invalid' });
      const message = error instanceof ConfigBundleError ? error.message : 'the bundle could not be read';
      logger.warn({ error: message }, 'refused a pushed config');
      return { ok: false, status: 400, code: 'config_invalid', message };
    }
    let persisted = true;
    let result;
    try {
      result = await store.apply(config, {
        source: 'push',
        requireNewer: true,
        beforeSwap: async () => {
          try {
            await bundleFile.write(jws.trim());
          } catch (error) {
            // Enforcing the new config matters more than surviving a restart with it.
            persisted = false;
            logger.error(
              { file: bundleFile.path, error: (error as Error).message },
              'cannot persist the config',
            );
          }
        },
      });
    } catch (error) {
      metrics.configReloads.inc({ source: 'push', result: 'error' });
      logger.error(
        { revision: config.revision, error: (error as Error).message },
        'a pushed config could not be applied',
      );
      return { ok: false, status: 400, code: 'config_invalid', message: 'the config could not be compiled' };
    }
    if (!result.applied) {
      metrics.configReloads.inc({ source: 'push', result: 'stale' });
      logger.warn(
        { pushed: config.revision, current: result.currentRevision },
        'refused a pushed config: not newer',
      );
      return {
        ok: false,
        status: 409,
        code: 'config_revision_stale',
        message: `revision ${config.revision} is not newer than the revision in force (${result.currentRevision})`,
      };
    }
    metrics.configReloads.inc({ source: 'push', result: 'applied' });
    logger.info({ revision: config.revision, persisted }, 'applied a pushed config');
    const warnings = result.active.compiled.warnings;
    if (warnings.length > 0) logger.warn({ revision: config.revision, warnings }, 'the config has problems');
    return { ok: true, revision: config.revision, digest: result.active.digest, persisted };
  }
}
