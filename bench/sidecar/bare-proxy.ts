/**
 * The baseline: Fastify + @fastify/reply-from with the sidecar's proxy settings (same undici pool,
 * streaming content-type parser, hop-by-hop header rewrite, no retries), and nothing else: no
 * token, no policy, no audit, no metrics.
 */
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';
import { Pool } from 'undici';
import {
  downstreamResponseHeaders,
  upstreamRequestHeaders,
} from '../../sidecar/src/proxy/upstream-headers.js';

const [portText, upstream] = process.argv.slice(2);
if (upstream === undefined) throw new TypeError('usage: bare-proxy PORT UPSTREAM_URL');
const timeoutMs = 30_000;
const pool = new Pool(upstream, {
  connections: 64,
  pipelining: 1,
  headersTimeout: timeoutMs,
  bodyTimeout: timeoutMs,
  connect: { timeout: 10_000 },
});
const app = Fastify({ logger: false, exposeHeadRoutes: false, return503OnClosing: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
await app.register(replyFrom, {
  base: upstream,
  undici: pool as unknown as { request: Pool['request'] },
  disableRequestLogging: true,
  retryMethods: [],
});
app.all('*', (request, reply) =>
  reply.from(request.url.split('?')[0], {
    rewriteRequestHeaders: (_request, headers) =>
      upstreamRequestHeaders(
        headers as Record<string, string>,
        { roles: [] },
        { forwardAuthorization: false, requestId: request.id },
      ),
    rewriteHeaders: (headers) =>
      downstreamResponseHeaders(headers as Record<string, string>) as typeof headers,
    retryDelay: () => null,
    timeout: timeoutMs,
  }),
);
await app.listen({ host: '127.0.0.1', port: Number(portText) });
console.log('ready');
for (const signal of ['SIGTERM', 'SIGINT'] as const)
  process.on(signal, () => void app.close().then(() => process.exit(0)));
