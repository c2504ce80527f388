/**
 * The sidecar's public listener: every request is decided (headers → token → roles → permission)
 * in an onRequest hook, before its body is read, and only an allowed one is proxied to the app.
 * `buildApp(deps)` never listens; main.ts does, and tests use inject() or listen on port 0.
 */
import { performance } from 'node:perf_hooks';
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import replyFrom from '@fastify/reply-from';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import { Pool } from 'undici';
import { buildAuditRecord } from './audit/audit-record.js';
import type { AuditSink } from './audit/audit-log.js';
import { denial, proxyError, type ErrorBody, type ProxyErrorCode } from './errors.js';
import { decide, type Decision } from './pipeline/decide.js';
import type { ReasonCode } from './pipeline/reasons.js';
import { callerFacts, type CallerFacts } from './proxy/identity.js';
import { acceptableRequestId, authorizationOf, findHeaderProblem } from './proxy/request-checks.js';
import { classifyUpstreamError } from './proxy/upstream-errors.js';
import { downstreamResponseHeaders, upstreamRequestHeaders } from './proxy/upstream-headers.js';
import type { ActiveConfig, ConfigStore } from './state/config-store.js';
import type { SidecarMetrics } from './telemetry/metrics.js';

export interface UpstreamOptions {
  /** Origin of the protected application, e.g. http://127.0.0.1:8080 (no path). */
  url: string;
  /** Limit for the application's response headers and for each gap between body chunks. */
  timeoutMs: number;
  /** Keep-alive connections to the application. */
  connections: number;
}

export interface AppDeps {
  store: ConfigStore;
  upstream: UpstreamOptions;
  logger: Logger;
  metrics: SidecarMetrics;
  audit: AuditSink;
  clock: () => Date;
  /**
   * A token named a key the config lacks. Resolves true when a newer config may know it, and the
   * request is then decided once more (standalone: a rate-limited JWKS refetch). In a pod this
   * notifies the operator and resolves false.
   */
  onUnknownKid?: (server: UnknownKidServer, kid: string) => Promise<boolean>;
}

/** The server a token with an unknown kid claims: its name (as decisions say) and `namespace/name`. */
export interface UnknownKidServer {
  name: string;
  id: string;
}

/** What one request carries from the decision to its audit record. */
interface RequestState {
  startedAt: number;
  allow: boolean;
  reason: string;
  /** The normalised path once decided; the raw path (no query) until then. */
  path: string;
  /** The query string to forward (with its '?'), as received. */
  search: string;
  configRevision: number;
  decision?: Decision;
  caller?: CallerFacts;
  forwardAuthorization: boolean;
  /** `namespace/name` of the server that verified the token. */
  serverId?: string;
  upstreamError?: ProxyErrorCode;
}

declare module 'fastify' {
  interface FastifyRequest {
    scopegateSidecar: RequestState | null;
  }
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { store, metrics, audit, clock } = deps;
  const upstreamOrigin = new URL(deps.upstream.url).origin;
  const pool = new Pool(upstreamOrigin, {
    connections: deps.upstream.connections,
    pipelining: 1,
    headersTimeout: deps.upstream.timeoutMs,
    bodyTimeout: deps.upstream.timeoutMs,
    connect: { timeout: Math.min(deps.upstream.timeoutMs, 10_000) },
  });

  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'proxy' }) as FastifyBaseLogger,
    // Per-request log lines would double the audit stream; the audit record is the request log.
    logController: new LogController({ disableRequestLogging: true }),
    // request.log is the proxy logger itself: a pino child per request costs more than it tells,
    // and the few per-request log lines carry the requestId explicitly.
    childLoggerFactory: (logger) => logger,
    requestIdHeader: false,
    genReqId: (req) => acceptableRequestId(req.headers['x-request-id']) ?? randomUUID(),
    exposeHeadRoutes: false,
    return503OnClosing: false,
    routerOptions: { maxParamLength: 8192 },
    frameworkErrors: (error, request, reply) => {
      const state = begin(request, reply);
      deny(reply, state, 'request_invalid', 'the request target is not a valid URL path');
      request.log.debug(
        { requestId: request.id, code: error.code },
        'refused a request the router could not read',
      );
    },
    clientErrorHandler: writeClientError,
  });

  // Bodies pass through as streams, whatever their type: nothing is buffered or parsed here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  await app.register(replyFrom, {
    base: upstreamOrigin,
    undici: pool as unknown as { request: Pool['request'] },
    disableRequestLogging: true,
    retryMethods: [],
  });
  app.addHook('onClose', async () => {
    await pool.close();
  });

  app.decorateRequest('scopegateSidecar', null);

  function begin(request: FastifyRequest, reply: FastifyReply): RequestState {
    const url = request.raw.url ?? '';
    const query = url.indexOf('?');
    const state: RequestState = {
      startedAt: performance.now(),
      allow: false,
      reason: 'request_invalid',
      path: query < 0 ? url : url.slice(0, query),
      search: '',
      configRevision: store.revision,
      forwardAuthorization: false,
    };
    request.scopegateSidecar = state;
    reply.header('x-request-id', request.id);
    // 'close' also fires when the caller goes away mid-response: one record per request, always.
    reply.raw.once('close', () => finish(request, reply, state));
    return state;
  }

  function finish(request: FastifyRequest, reply: FastifyReply, state: RequestState): void {
    const latencyMs = performance.now() - state.startedAt;
    const decision = state.allow ? 'allow' : 'deny';
    metrics.recordRequest(decision, state.reason, latencyMs / 1000);
    const principal = state.decision?.principal;
    audit.write(
      buildAuditRecord({
        time: clock(),
        requestId: request.id,
        allow: state.allow,
        reason: state.reason,
        status: reply.raw.statusCode,
        method: request.raw.method ?? '',
        path: state.path,
        latencyMs,
        sourceAddress: request.raw.socket?.remoteAddress,
        configRevision: state.configRevision,
        principal:
          principal === undefined
            ? undefined
            : {
                issuer: principal.issuer,
                server: state.serverId ?? principal.server,
                clientId: principal.clientId,
                roles: principal.roles,
                adminIds: principal.adminIds,
              },
        matched:
          state.caller === undefined
            ? undefined
            : { adminId: state.caller.adminId, permission: state.caller.permission },
        upstreamError: state.upstreamError,
      }),
    );
  }

  async function decideFor(active: ActiveConfig, request: FastifyRequest): Promise<Decision> {
    return decide(
      active.compiled,
      {
        method: request.raw.method ?? '',
        url: request.raw.url ?? '',
        authorization: authorizationOf(request.raw.rawHeaders),
      },
      clock(),
      active.tokenCache,
    );
  }

  app.addHook('onRequest', async (request, reply) => {
    const state = begin(request, reply);
    const problem = findHeaderProblem(request.headers);
    if (problem !== undefined) return deny(reply, state, 'request_invalid', problem);
    let active = store.current;
    if (active === undefined) return deny(reply, state, 'config_missing');
    const started = performance.now();
    let decision = await decideFor(active, request);
    if (decision.unknownKid !== undefined && deps.onUnknownKid !== undefined) {
      const { server, kid } = decision.unknownKid;
      const id = active.serverIdByName.get(server) ?? server;
      const refreshed = await deps.onUnknownKid({ name: server, id }, kid);
      const next = store.current;
      if (refreshed && next !== undefined && next !== active) {
        active = next;
        decision = await decideFor(active, request);
      }
    }
    metrics.verificationDuration.observe((performance.now() - started) / 1000);
    state.decision = decision;
    state.path = decision.path || state.path;
    state.search = decision.search ?? '';
    state.configRevision = active.config.revision;
    if (decision.principal !== undefined) {
      state.serverId = active.serverIdByName.get(decision.principal.server);
      state.caller = callerFacts(decision, active.adminIdByRole);
    }
    if (!decision.allow) return deny(reply, state, decision.reason, decision.message);
    state.allow = true;
    state.reason = decision.reason;
    state.forwardAuthorization = active.config.proxy.forwardAuthorization;
    return undefined;
  });

  function forward(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const state = request.scopegateSidecar;
    // The hook answers every request it does not allow; this is the fail-closed backstop.
    if (state === null || !state.allow || state.caller === undefined)
      return sendError(reply, 500, proxyError('internal_error').body);
    const caller = state.caller;
    try {
      // Exactly the normalised path the decision authorized, never the text the client sent.
      return reply.from(state.path, {
        queryString: () => state.search.slice(1),
        rewriteRequestHeaders: (_request, headers) =>
          upstreamRequestHeaders(
            headers as Record<string, string | string[] | undefined>,
            caller.identity,
            { forwardAuthorization: state.forwardAuthorization, requestId: request.id },
            request.headers.connection,
          ),
        rewriteHeaders: (headers) =>
          downstreamResponseHeaders(headers as Record<string, string | string[]>) as typeof headers,
        onError: (failedReply, { error }) => {
          const { kind, code } = classifyUpstreamError(error);
          metrics.upstreamErrors.inc({ kind });
          state.upstreamError = code;
          request.log.warn(
            { requestId: request.id, kind, error: error.message },
            'the upstream request failed',
          );
          const failure = proxyError(code);
          sendError(failedReply as FastifyReply, failure.status, failure.body);
        },
        retryDelay: () => null,
        timeout: deps.upstream.timeoutMs,
      });
    } catch (error) {
      // reply-from refuses some paths itself (e.g. a segment starting with '..'); never forward those.
      request.log.debug(
        { requestId: request.id, error: (error as Error).message },
        'the proxy refused the path',
      );
      state.allow = false;
      return deny(reply, state, 'request_invalid', 'the path cannot be forwarded');
    }
  }

  app.all('*', forward);
  // Methods Fastify has no route for (PROPFIND, LINK, ...) go through the same hook and handler.
  app.setNotFoundHandler(forward);

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const state = request.scopegateSidecar;
    if (state !== null) {
      state.allow = false;
      state.reason = 'internal_error';
    }
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      if (state !== null) state.reason = 'request_invalid';
      return sendError(reply, error.statusCode, {
        code: 'request_invalid',
        message: 'the request is not acceptable',
      });
    }
    request.log.error({ requestId: request.id, err: error }, 'request failed');
    return sendError(reply, 500, proxyError('internal_error').body);
  });

  return app;
}

function deny(reply: FastifyReply, state: RequestState, reason: ReasonCode, detail?: string): FastifyReply {
  state.allow = false;
  state.reason = reason;
  const answer = denial(reason, detail);
  if (answer.challenge !== undefined) reply.header('www-authenticate', answer.challenge);
  // Do not read an upload nobody will use: let the connection go instead of draining it.
  if (hasUnreadBody(reply.request.raw)) reply.header('connection', 'close');
  return sendError(reply, answer.status, answer.body);
}

function sendError(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(body));
}

function hasUnreadBody(raw: IncomingMessage): boolean {
  if (raw.complete) return false;
  const length = raw.headers['content-length'];
  return raw.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Errors Node reports before there is a request (bad request line, headers too large): JSON too. */
function writeClientError(error: Error & { code?: string }, socket: import('node:net').Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout']
        : [400, 'Bad Request'];
  const body = JSON.stringify({
    code: 'request_invalid',
    message: `the request could not be read (${reason.toLowerCase()})`,
  });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
