/**
 * A raw HTTP/1.1 client for hostile requests: the path is sent byte for byte (no URL parsing or
 * dot-segment removal) and headers may repeat, as `[name, value, name, value, ...]`.
 */
import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { code?: string; message?: string } & Record<string, unknown>;
}

export interface RawRequest {
  method?: string;
  path: string;
  /** Flat list of name/value pairs; a name may appear twice. */
  headers?: string[];
  body?: string | Buffer;
  timeoutMs?: number;
}

export function send(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const base = new URL(baseUrl);
  // A raw header list gets no automatic Host header; HTTP/1.1 requires one.
  const headers = ['host', base.host, ...(request.headers ?? [])];
  if (request.body !== undefined) headers.push('content-length', String(Buffer.byteLength(request.body)));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method: request.method ?? 'GET',
        path: request.path,
        headers,
        agent: false,
        timeout: request.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json: RawResponse['json'] = {};
          try {
            json = JSON.parse(body) as RawResponse['json'];
          } catch {
            // not JSON
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${request.path} timed out`)));
    req.on('error', reject);
    req.end(request.body);
  });
}

export const bearer = (token: string) => ['authorization', `Bearer ${token}`];
