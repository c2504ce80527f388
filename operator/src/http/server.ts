/**
 * The operator's plain HTTP port: /healthz (the process works), /readyz (caches synced; leader and
 * standby alike), /metrics, and POST /v1/keys/refresh, where a sidecar that met an unknown `kid`
 * asks for its server's keys to be fetched again (rate-limited per server by the key store).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export type RefreshAnswer = 'accepted' | 'scheduled' | 'rate-limited' | 'unknown' | 'known' | 'forwarded';

export interface HttpServerDeps {
  registry: Registry;
  ready: () => { ready: boolean; reason?: string };
  refreshKeys: (request: { namespace: string; server: string; kid?: string }) => Promise<RefreshAnswer>;
  onRefreshAnswer?: (answer: RefreshAnswer | 'invalid') => void;
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const MAX_BODY = 4096;

/** Pure: a refresh request body, or why it is not one. */
export function parseRefreshRequest(
  body: unknown,
): { namespace: string; server: string; kid?: string } | { error: string } {
  if (body === null || typeof body !== 'object') return { error: 'the body must be a JSON object' };
  const { namespace, server, kid } = body as Record<string, unknown>;
  if (typeof namespace !== 'string' || namespace.length > 63 || !NAME.test(namespace))
    return { error: 'namespace must be a namespace name' };
  if (typeof server !== 'string' || server.length > 253 || !NAME.test(server))
    return { error: 'server must be an AuthorizationServer name' };
  if (kid !== undefined && (typeof kid !== 'string' || kid.length > 256))
    return { error: 'kid must be a string of at most 256 characters' };
  return kid === undefined ? { namespace, server } : { namespace, server, kid };
}

const STATUS_OF: Record<RefreshAnswer, number> = {
  accepted: 202,
  forwarded: 202,
  known: 200,
  scheduled: 202,
  'rate-limited': 429,
  unknown: 404,
};

export async function startHttpServer(
  deps: HttpServerDeps,
  addr: { host: string; port: number },
): Promise<{ address: AddressInfo; close: () => Promise<void> }> {
  const send = (
    res: http.ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      ...headers,
    });
    res.end(text);
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return send(res, 200, 'ok');
    if (req.method === 'GET' && path === '/readyz') {
      const { ready, reason } = deps.ready();
      return send(res, ready ? 200 : 503, ready ? 'ok' : `not ready: ${reason ?? ''}`);
    }
    if (req.method === 'GET' && path === '/metrics') {
      deps.registry.metrics().then(
        (text) => send(res, 200, text, { 'content-type': deps.registry.contentType }),
        (e: Error) => send(res, 500, e.message),
      );
      return;
    }
    if (path === '/v1/keys/refresh') {
      if (req.method !== 'POST')
        return send(res, 405, { code: 'ERR_METHOD', message: 'use POST' }, { allow: 'POST' });
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          send(res, 413, { code: 'ERR_TOO_LARGE', message: 'body too large' });
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        if (res.headersSent) return;
        let parsed: ReturnType<typeof parseRefreshRequest>;
        try {
          parsed = parseRefreshRequest(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          parsed = { error: 'the body is not JSON' };
        }
        if ('error' in parsed) {
          deps.onRefreshAnswer?.('invalid');
          return send(res, 400, { code: 'ERR_INVALID_REQUEST', message: parsed.error });
        }
        deps.refreshKeys(parsed).then(
          (answer) => {
            deps.onRefreshAnswer?.(answer);
            send(
              res,
              STATUS_OF[answer],
              { result: answer },
              answer === 'rate-limited' ? { 'retry-after': '10' } : {},
            );
          },
          (e: Error) => send(res, 500, { code: 'ERR_INTERNAL', message: e.message }),
        );
      });
      return;
    }
    send(res, 404, { code: 'ERR_NOT_FOUND', message: 'not found' });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
