/**
 * The admin port: probes, metrics and the config API. It lives on its own listener so nothing of it
 * is reachable through the proxied port. `buildAdminApp` never listens (tests use inject()).
 */
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import type { Logger } from 'pino';
import { MAX_BUNDLE_BYTES } from '../config/bundle.js';
import type { AdminErrorCode, ErrorBody } from '../errors.js';
import type { PushOutcome } from '../incluster/incluster-source.js';
import { serverLabel, type ActiveConfig, type ConfigStore } from '../state/config-store.js';
import type { SidecarMetrics } from '../telemetry/metrics.js';

export interface AdminDeps {
  store: ConfigStore;
  metrics: SidecarMetrics;
  logger: Logger;
  /** In-cluster mode: accepts a pushed bundle. Absent in standalone mode, where the file is the source. */
  acceptBundle?: (jws: string) => Promise<PushOutcome>;
  /** True once shutdown began: readiness fails so no new traffic is routed here. */
  shuttingDown?: () => boolean;
}

function sendError(reply: FastifyReply, status: number, code: AdminErrorCode, message: string): FastifyReply {
  const body: ErrorBody = { code, message };
  return reply.code(status).type('application/json').send(body);
}

/** What GET /v1/config reports: enough to tell which config runs, small (counts, not keys or rules). */
export function describeConfig(active: ActiveConfig) {
  const { config } = active;
  return {
    revision: config.revision,
    digest: active.digest,
    generatedAt: config.generatedAt,
    appliedAt: active.appliedAt.toISOString(),
    source: active.source,
    namespace: config.namespace ?? null,
    tenant: config.tenant,
    forwardAuthorization: config.proxy.forwardAuthorization,
    authorizationServers: config.authorizationServers.map((s) => ({
      server: serverLabel(s),
      enabled: s.enabled,
      keys: s.keys.keys.length,
      keysFetchedAt: s.keysFetchedAt ?? null,
    })),
    roles: config.roles.length,
  };
}

export async function buildAdminApp(deps: AdminDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'admin' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BUNDLE_BYTES,
    return503OnClosing: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/jose', { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.statusCode === 415) {
      return sendError(
        reply,
        415,
        'unsupported_media_type',
        'send the bundle as application/jose (a compact JWS)',
      );
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
      return sendError(
        reply,
        413,
        'payload_too_large',
        `the bundle is larger than ${MAX_BUNDLE_BYTES} bytes`,
      );
    }
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return sendError(reply, error.statusCode, 'config_invalid', 'the request could not be read');
    }
    request.log.error({ err: error }, 'admin request failed');
    return reply.code(500).send({ code: 'internal_error', message: 'the admin request failed' });
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, 'not_found', 'no such admin endpoint'));

  const quiet = { logLevel: 'silent' as const };
  app.get('/healthz', quiet, async () => ({ status: 'ok' }));
  app.get('/readyz', quiet, async (_request, reply) => {
    if (deps.shuttingDown?.()) return sendError(reply, 503, 'not_ready', 'the sidecar is shutting down');
    const active = deps.store.current;
    if (active === undefined) return sendError(reply, 503, 'not_ready', 'no config has been applied yet');
    return { status: 'ready', revision: active.config.revision };
  });
  app.get('/metrics', quiet, async (_request, reply) => {
    const { contentType, body } = await deps.metrics.exposition();
    return reply.type(contentType).send(body);
  });
  app.get('/v1/config', async (_request, reply) => {
    const active = deps.store.current;
    if (active === undefined) return sendError(reply, 404, 'not_found', 'no config has been applied yet');
    return describeConfig(active);
  });
  app.put('/v1/config', async (request, reply) => {
    if (deps.acceptBundle === undefined) {
      return sendError(
        reply,
        409,
        'config_push_disabled',
        'this sidecar runs standalone: its config comes from --resources',
      );
    }
    if (typeof request.body !== 'string') {
      return sendError(
        reply,
        415,
        'unsupported_media_type',
        'send the bundle as application/jose (a compact JWS)',
      );
    }
    const outcome = await deps.acceptBundle(request.body);
    if (!outcome.ok) return sendError(reply, outcome.status, outcome.code, outcome.message);
    return { revision: outcome.revision, digest: outcome.digest, persisted: outcome.persisted };
  });
  return app;
}
