/**
 * The sample API the e2e tier and the demo protect: a tiny in-memory item store that answers every
 * request with the identity headers the scopegate sidecar set, so a test sees exactly what reached
 * the app. It knows nothing about tokens: in the pod only the sidecar can reach it.
 *
 *   node dist/test/e2e/sample-api.js --listen 127.0.0.1:8080
 *
 * Routes: GET and POST /v1/items, GET and DELETE /v1/items/:id, GET /v1/admin/settings, GET /healthz.
 */
import http from 'node:http';
import { pathToFileURL } from 'node:url';

interface Item {
  id: string;
  name: string;
}

/** The `x-scopegate-*` headers the request carried, and whether the bearer token was forwarded. */
function identityOf(req: http.IncomingMessage) {
  const scopegate: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith('x-scopegate-') && value !== undefined) {
      scopegate[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return { headers: scopegate, authorizationForwarded: req.headers.authorization !== undefined };
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function createSampleApi(): http.Server {
  const items = new Map<string, Item>([['1', { id: '1', name: 'first item' }]]);
  let nextId = 2;
  const settings = { retentionDays: 30, maintenanceWindow: 'Sun 02:00-04:00' };

  return http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://sample-api');
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...body, identity: identityOf(req) }));
      console.log(JSON.stringify({ msg: 'request', method: req.method, path: url.pathname, status }));
    };
    const itemMatch = /^\/v1\/items\/([^/]+)$/.exec(url.pathname);
    try {
      if (url.pathname === '/healthz') return send(200, { ok: true });
      if (url.pathname === '/v1/items' && req.method === 'GET')
        return send(200, { items: [...items.values()] });
      if (url.pathname === '/v1/items' && req.method === 'POST') {
        const raw = await readBody(req);
        const name = raw ? String((JSON.parse(raw) as { name?: unknown }).name ?? 'unnamed') : 'unnamed';
        const item = { id: String(nextId++), name };
        items.set(item.id, item);
        return send(201, { item });
      }
      if (itemMatch && req.method === 'GET') {
        const item = items.get(decodeURIComponent(itemMatch[1]!));
        return item ? send(200, { item }) : send(404, { code: 'not_found', message: 'no such item' });
      }
      if (itemMatch && req.method === 'DELETE') {
        const id = decodeURIComponent(itemMatch[1]!);
        return items.delete(id)
          ? send(200, { deleted: id })
          : send(404, { code: 'not_found', message: `no item ${id}` });
      }
      if (url.pathname === '/v1/admin/settings' && req.method === 'GET') return send(200, { settings });
      return send(404, { code: 'not_found', message: `no route ${req.method} ${url.pathname}` });
    } catch (error) {
      return send(400, {
        code: 'bad_request',
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
}

/** `--listen host:port`, else `$LISTEN`, else 127.0.0.1:8080. */
function listenAddress(argv: string[], env: NodeJS.ProcessEnv): { host: string; port: number } {
  const i = argv.indexOf('--listen');
  const value = (i >= 0 ? argv[i + 1] : undefined) ?? env.LISTEN ?? '127.0.0.1:8080';
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port)) throw new Error(`sample-api: bad listen address ${value}`);
  return { host: value.slice(0, at), port };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { host, port } = listenAddress(process.argv.slice(2), process.env);
  const server = createSampleApi();
  server.listen(port, host, () => console.log(JSON.stringify({ msg: 'sample-api listening', host, port })));
  const shutdown = () => server.close(() => process.exit(0));
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
