/**
 * The protected application of the integration tests: a real HTTP server on 127.0.0.1:0 that
 * records what reaches it. Paths choose the behaviour: `/slow/<ms>` answers after a delay, `/hang`
 * never answers, `/upload` counts the body it receives, `/download/<bytes>` streams a large body;
 * anything else echoes the method, path and headers as JSON.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
}

export interface TestUpstream {
  url: string;
  port: number;
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startUpstream(): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
    });
    const url = req.url ?? '/';
    if (url === '/hang') {
      hanging.add(res);
      req.resume();
      return;
    }
    const slow = /^\/slow\/(\d+)/.exec(url);
    if (slow !== null) {
      req.resume();
      setTimeout(
        () => res.writeHead(200, { 'content-type': 'text/plain' }).end('slow done'),
        Number(slow[1]),
      );
      return;
    }
    if (url.startsWith('/upload')) {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes })),
      );
      return;
    }
    const download = /^\/download\/(\d+)/.exec(url);
    if (download !== null) {
      req.resume();
      let left = Number(download[1]);
      const chunk = Buffer.alloc(64 * 1024, 'x');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = () => {
        while (left > 0) {
          const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return;
    }
    req.resume();
    const body = JSON.stringify({ method: req.method, url, headers: req.headers });
    res.writeHead(200, {
      'content-type': 'application/json',
      'keep-alive': 'timeout=5',
      'x-upstream': 'yes',
    });
    res.end(body);
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A free loopback port (the port is closed again before it is returned). */
export async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
