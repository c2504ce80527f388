/**
 * Wiring only: checked options in, a running sidecar out (the proxy listener, the admin listener,
 * one config source), and an orderly close. Everything with I/O is built here and injected.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildAdminApp } from './admin/admin-app.js';
import { buildApp, type AppDeps } from './app.js';
import { openAuditLog, type AuditSink } from './audit/audit-log.js';
import type { HostPort, SidecarOptions } from './cli/sidecar-options.js';
import { SidecarStartupError } from './errors.js';
import { ConfigStore } from './state/config-store.js';
import { createLogger } from './telemetry/logger.js';
import { SidecarMetrics } from './telemetry/metrics.js';

/** Tuning that has sensible fixed values; injectable for tests. */
export interface SidecarTuning {
  upstreamConnections: number;
  tokenCacheEntries: number;
  resourcesPollIntervalMs: number;
  unknownKidCooldownMs: number;
  jwksRetryAfterFailureMs: number;
  keyRefreshIntervalMs: number;
}

export const DEFAULT_TUNING: SidecarTuning = {
  upstreamConnections: 64,
  tokenCacheEntries: 10_000,
  resourcesPollIntervalMs: 2000,
  // A rotated key is picked up within this time of its first use, and an attacker sending random
  // kids makes us fetch at most this often.
  unknownKidCooldownMs: 5000,
  jwksRetryAfterFailureMs: 30_000,
  keyRefreshIntervalMs: 30_000,
};

export interface SidecarDeps {
  clock?: () => Date;
  logger?: Logger;
  fetch?: typeof globalThis.fetch;
  tuning?: Partial<SidecarTuning>;
  processMetrics?: boolean;
}

export interface RunningSidecar {
  /** `http://host:port` of the public and admin listeners (the real ports when 0 was asked). */
  listenUrl: string;
  adminUrl: string;
  logger: Logger;
  /** Stops taking requests, drains in-flight ones (up to the timeout); resolves true when all finished. */
  close(): Promise<boolean>;
}

export async function startSidecar(options: SidecarOptions, deps: SidecarDeps = {}): Promise<RunningSidecar> {
  const tuning = { ...DEFAULT_TUNING, ...deps.tuning };
  const clock = deps.clock ?? (() => new Date());
  const logger = deps.logger ?? createLogger({ level: options.logLevel });
  const metrics = new SidecarMetrics({
    version: packageVersion(),
    processMetrics: deps.processMetrics ?? true,
  });
  const store = new ConfigStore({ metrics, clock, tokenCacheEntries: tuning.tokenCacheEntries });
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  };

  try {
    let audit: AuditSink;
    try {
      audit = await openAuditLog({
        target: options.auditLog,
        onError: (error) => {
          metrics.auditWriteErrors.inc();
          logger.error({ error: error.message }, 'writing the audit log failed');
        },
      });
    } catch (error) {
      throw new SidecarStartupError(
        `cannot open --audit-log ${options.auditLog}: ${(error as Error).message}`,
      );
    }
    cleanups.push(() => audit.close());

    let onUnknownKid: AppDeps['onUnknownKid'];
    let acceptBundle: Parameters<typeof buildAdminApp>[0]['acceptBundle'];
    // Each mode loads only its own modules (the YAML parser and JWKS client are standalone-only).
    if (options.mode === 'standalone') {
      const { JwksHttpClient } = await import('./standalone/jwks-fetch.js');
      const { StandaloneConfigSource } = await import('./standalone/standalone-source.js');
      const jwks = new JwksHttpClient();
      cleanups.push(() => jwks.close());
      const source = new StandaloneConfigSource(
        {
          resourcesFile: options.resources,
          tenant: options.tenant,
          forwardAuthorization: options.forwardAuthorization,
          pollIntervalMs: tuning.resourcesPollIntervalMs,
          unknownKidCooldownMs: tuning.unknownKidCooldownMs,
          retryAfterFailureMs: tuning.jwksRetryAfterFailureMs,
        },
        { store, fetchKeys: (uri, ca) => jwks.fetchKeys(uri, ca), clock, logger, metrics },
      );
      cleanups.push(() => source.close());
      await source.start();
      onUnknownKid = (server) => source.refreshForUnknownKid(server.id);
    } else {
      const { BundleFile } = await import('./incluster/bundle-file.js');
      const { InClusterConfigSource, loadConfigPublicKey } = await import('./incluster/incluster-source.js');
      const { KeyRefreshNotifier } = await import('./incluster/key-refresh-notifier.js');
      const publicKey = await loadConfigPublicKey(options.configPublicKey);
      const bundleFile = new BundleFile(options.configDir);
      try {
        await bundleFile.prepare();
      } catch (error) {
        throw new SidecarStartupError(
          `cannot use --config-dir ${options.configDir}: ${(error as Error).message}`,
        );
      }
      const source = new InClusterConfigSource({ publicKey, bundleFile, store, logger, metrics });
      await source.loadPersisted();
      acceptBundle = (jws) => source.accept(jws);
      if (options.operatorUrl !== undefined) {
        const notifier = new KeyRefreshNotifier({
          operatorUrl: options.operatorUrl,
          namespace: () => store.current?.config.namespace,
          fetch: deps.fetch ?? globalThis.fetch,
          clock,
          logger,
          metrics,
          minIntervalMs: tuning.keyRefreshIntervalMs,
          timeoutMs: 5000,
        });
        cleanups.push(() => notifier.drain());
        onUnknownKid = async (server, kid) => {
          notifier.notify(server.name, kid);
          return false;
        };
      }
    }

    let shuttingDown = false;
    const admin = await buildAdminApp({
      store,
      metrics,
      logger,
      acceptBundle,
      shuttingDown: () => shuttingDown,
    });
    cleanups.push(() => admin.close());
    const app = await buildApp({
      store,
      metrics,
      logger,
      audit,
      clock,
      onUnknownKid,
      upstream: {
        url: options.upstream,
        timeoutMs: options.upstreamTimeoutMs,
        connections: tuning.upstreamConnections,
      },
    });
    cleanups.push(() => app.close());

    const adminUrl = await listen(admin, options.admin, 'admin');
    const listenUrl = await listen(app, options.listen, 'listen');
    logger.info(
      {
        mode: options.mode,
        listen: listenUrl,
        admin: adminUrl,
        upstream: options.upstream,
        revision: store.revision,
      },
      'sidecar listening',
    );

    let closing: Promise<boolean> | undefined;
    return {
      listenUrl,
      adminUrl,
      logger,
      close() {
        closing ??= (async () => {
          shuttingDown = true;
          const drained = await closeWithin(app, options.shutdownTimeoutMs, logger);
          cleanups.pop(); // app: closed above
          await cleanUp();
          logger.info({ drained }, 'sidecar stopped');
          logger.flush?.();
          return drained;
        })();
        return closing;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

async function listen(app: FastifyInstance, at: HostPort, flag: string): Promise<string> {
  try {
    await app.listen({ host: at.host, port: at.port });
  } catch (error) {
    throw new SidecarStartupError(
      `cannot listen on --${flag} ${at.host}:${at.port}: ${(error as Error).message}`,
    );
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : at.port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host;
  return `http://${host}:${port}`;
}

/** Fastify's close waits for in-flight requests; past the timeout, remaining connections are cut. */
async function closeWithin(app: FastifyInstance, timeoutMs: number, logger: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const drained = await Promise.race([app.close().then(() => true), timedOut]);
  clearTimeout(timer);
  if (!drained) {
    logger.warn({ timeoutMs }, 'in-flight requests did not finish in time; closing their connections');
    app.server.closeAllConnections();
    await app.close().catch(() => undefined);
  }
  return drained;
}

/** The package version, read once (from dist/ or from the sources under vitest). */
function packageVersion(): string {
  for (const candidate of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'scopegate' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}
