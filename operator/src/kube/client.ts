/**
 * A small JSON client for the Kubernetes API over node:http(s), authenticated by our own kubeconfig
 * reader or, for exec plugins and auth providers, client-node's KubeConfig. We keep our own
 * keep-alive agents: client-node builds a new agent, hence a new TLS connection, for every call.
 * Watches get an agent of their own so long-lived streams never starve ordinary requests.
 */
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeAuth } from './kubeconfig.js';

export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
    /** The Status `reason`, e.g. NotFound, AlreadyExists, Conflict, Expired. */
    readonly reason: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (e: unknown) => e instanceof KubeApiError && e.statusCode === 404;
export const isConflict = (e: unknown) => e instanceof KubeApiError && e.statusCode === 409;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Default application/json; patches name their type. */
  contentType?: string;
  timeoutMs?: number;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Record<string, unknown>;
}

export interface KubeClient {
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /**
   * Streams a watch; resolves when the server ends it, rejects on a transport error or when no byte
   * arrived for `idleTimeoutMs` (a half-open connection would otherwise stay quiet forever).
   */
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: (event: WatchEvent) => void,
    options: { signal: AbortSignal; idleTimeoutMs: number },
  ): Promise<void>;
  close(): void;
}

export const MERGE_PATCH = 'application/merge-patch+json';
export const APPLY_PATCH = 'application/apply-patch+yaml';

interface Transport {
  base: URL;
  headers: () => Promise<Record<string, string>>;
  requestAgent: http.Agent;
  watchAgent: http.Agent;
}

/** client-node's KubeConfig as a KubeAuth (exec plugins, auth providers): loaded only when needed. */
export async function authFromKubeConfig(kc: KubeConfig): Promise<KubeAuth> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new TypeError('the kubeconfig has no current cluster');
  const probe: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(probe);
  return {
    server: cluster.server,
    tls: {
      ...(probe.ca ? { ca: probe.ca as string | Buffer } : {}),
      ...(probe.cert ? { cert: probe.cert as string | Buffer } : {}),
      ...(probe.key ? { key: probe.key as string | Buffer } : {}),
      ...(probe.rejectUnauthorized !== undefined ? { rejectUnauthorized: probe.rejectUnauthorized } : {}),
      ...(cluster.skipTLSVerify ? { rejectUnauthorized: false } : {}),
      ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
    },
    // Applied per request: exec credentials expire.
    headers: async () => {
      const opts: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(opts);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      if (opts.auth) headers['authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return headers;
    },
  };
}

function transportFor(auth: KubeAuth): Transport {
  const base = new URL(auth.server);
  const makeAgent = (maxSockets: number) =>
    base.protocol === 'https:'
      ? new https.Agent({ ...auth.tls, keepAlive: true, maxSockets })
      : new http.Agent({ keepAlive: true, maxSockets });
  return { base, headers: auth.headers, requestAgent: makeAgent(32), watchAgent: makeAgent(Infinity) };
}

function urlFor(base: URL, path: string, query: RequestOptions['query']): URL {
  const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

function errorFrom(method: string, path: string, status: number, text: string): KubeApiError {
  let message = text.slice(0, 500);
  let reason: string | undefined;
  try {
    const body = JSON.parse(text) as { message?: string; reason?: string };
    message = body.message ?? message;
    reason = body.reason;
  } catch {
    // not a Status object
  }
  return new KubeApiError(`${method} ${path}: ${status} ${message}`, status, reason);
}

export async function createKubeClient(source: KubeConfig | KubeAuth): Promise<KubeClient> {
  const t = transportFor(
    'server' in source && 'headers' in source
      ? (source as KubeAuth)
      : await authFromKubeConfig(source as KubeConfig),
  );
  const lib = t.base.protocol === 'https:' ? https : http;

  const request = async <T>(method: string, path: string, options: RequestOptions = {}): Promise<T> => {
    const url = urlFor(t.base, path, options.query);
    const headers: Record<string, string> = { ...(await t.headers()), accept: 'application/json' };
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    if (payload) {
      headers['content-type'] = options.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise<T>((resolve, reject) => {
      const req = lib.request(url, {
        method,
        headers,
        agent: t.requestAgent,
        timeout: options.timeoutMs ?? 30_000,
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', (cause) =>
        reject(new KubeApiError(`${method} ${path}: ${cause.message}`, 0, undefined, { cause })),
      );
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 299) return reject(errorFrom(method, path, status, text));
          try {
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          } catch (cause) {
            reject(new KubeApiError(`${method} ${path}: invalid JSON`, status, undefined, { cause }));
          }
        });
      });
      req.end(payload);
    });
  };

  const watch: KubeClient['watch'] = async (path, query, onEvent, { signal, idleTimeoutMs }) => {
    const url = urlFor(t.base, path, { ...query, watch: true });
    const headers = { ...(await t.headers()), accept: 'application/json' };
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(idle);
        signal.removeEventListener('abort', onAbort);
        req.destroy();
        if (error) reject(error);
        else resolve();
      };
      const onAbort = () => finish();
      const armIdle = () =>
        setTimeout(() => finish(new Error(`watch ${path}: no data for ${idleTimeoutMs}ms`)), idleTimeoutMs);
      let idle = armIdle();
      const req = lib.request(url, { method: 'GET', headers, agent: t.watchAgent });
      req.on('error', (e) =>
        finish(new KubeApiError(`watch ${path}: ${e.message}`, 0, undefined, { cause: e })),
      );
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => finish(errorFrom('GET', path, status, Buffer.concat(chunks).toString('utf8'))));
          res.on('error', (e) => finish(e));
          return;
        }
        res.on('data', () => {
          clearTimeout(idle);
          idle = armIdle();
        });
        res.on('error', (e) => finish(e));
        res.on('aborted', () => finish(new Error(`watch ${path}: connection aborted`)));
        const lines = createInterface({ input: res, crlfDelay: Infinity });
        // readline re-emits the stream's errors (an aborted connection); finish() already has them.
        lines.on('error', (e) => finish(e));
        lines.on('line', (line) => {
          if (settled || line.trim() === '') return;
          let event: WatchEvent;
          try {
            event = JSON.parse(line) as WatchEvent;
          } catch {
            return finish(new Error(`watch ${path}: undecodable event`));
          }
          try {
            onEvent(event);
          } catch (e) {
            finish(e as Error);
          }
        });
        lines.on('close', () => finish());
      });
      if (signal.aborted) return finish();
      signal.addEventListener('abort', onAbort);
      req.end();
    });
  };

  return {
    request,
    watch,
    close: () => {
      t.requestAgent.destroy();
      t.watchAgent.destroy();
    },
  };
}
