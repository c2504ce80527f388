/**
 * A small HTTP(S) client for the e2e tier and the demo. Node's fetch cannot take a CA per request, and
 * the loopback servers here use a test CA; this one can, and it never follows redirects or throws on a
 * status: the tests want to see exactly what came back.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** PEM CA bundle for https URLs. */
  ca?: string;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export function httpRequest(url: string, req: HttpRequest = {}): Promise<HttpResponse> {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
  return new Promise((resolve, reject) => {
    const request = transport.request(
      target,
      {
        method: req.method ?? 'GET',
        headers,
        ...(target.protocol === 'https:' && req.ca !== undefined ? { ca: req.ca } : {}),
        timeout: req.timeoutMs ?? 10_000,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: parseJson(body) });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${req.method ?? 'GET'} ${url} timed out`)));
    request.on('error', reject);
    request.end(req.body);
  });
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** A fetch-compatible function over httpRequest, for libraries that take one (jose's customFetch). */
export function fetchWithCa(ca: string): (url: string, init?: { headers?: Headers }) => Promise<Response> {
  return async (url, init) => {
    const res = await httpRequest(url, { ca, headers: Object.fromEntries(init?.headers?.entries() ?? []) });
    const headers = new Headers();
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
    return new Response(res.body, { status: res.status, headers });
  };
}
