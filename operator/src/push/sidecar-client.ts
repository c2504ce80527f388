/**
 * The operator's side of the sidecar admin API: `GET /v1/config` (what do you run?) and
 * `PUT /v1/config` (run this signed bundle). Keep-alive connections, a timeout per request, bounded
 * response size; outcomes are classified, never thrown.
 */
import http from 'node:http';

export type ProbeOutcome =
  | { kind: 'config'; revision: number; digest: string }
  | { kind: 'no-config' }
  | { kind: 'error'; message: string };

export type PushOutcome =
  | { kind: 'applied' }
  /** The sidecar runs a revision at least as new (409). */
  | { kind: 'stale' }
  /** The sidecar refused the bundle as badly signed or invalid (400/401). */
  | { kind: 'rejected'; status: number; message: string }
  | { kind: 'error'; message: string };

export interface SidecarClient {
  probe(adminUrl: string): Promise<ProbeOutcome>;
  push(adminUrl: string, jws: string): Promise<PushOutcome>;
  close(): void;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

export function createSidecarClient(options: { timeoutMs: number }): SidecarClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2, timeout: 60_000 });

  // Parsed once per sidecar: URL parsing showed up in profiles at 1,000 pushes per change.
  const targets = new Map<string, { hostname: string; port: number }>();
  const targetOf = (adminUrl: string) => {
    let target = targets.get(adminUrl);
    if (!target) {
      const url = new URL(adminUrl);
      target = { hostname: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 80) };
      if (targets.size > 100_000) targets.clear();
      targets.set(adminUrl, target);
    }
    return target;
  };

  const call = (method: string, adminUrl: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const req = http.request({
        ...targetOf(adminUrl),
        path: '/v1/config',
        method,
        agent,
        // Bounds the silence on the socket; a sidecar that trickles is cut off by the deadline below.
        timeout: options.timeoutMs,
        headers: {
          accept: 'application/json',
          ...(payload
            ? { 'content-type': 'application/jose', 'content-length': String(payload.length) }
            : {}),
        },
      });
      const deadline = setTimeout(
        () => req.destroy(new Error(`timed out after ${options.timeoutMs}ms`)),
        options.timeoutMs * 2,
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${options.timeoutMs}ms`)));
      req.on('error', (e) => {
        clearTimeout(deadline);
        reject(e);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_RESPONSE_BYTES) chunks.push(c);
        });
        res.on('error', (e) => {
          clearTimeout(deadline);
          reject(e);
        });
        res.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.end(payload);
    });

  const messageOf = (text: string) => {
    try {
      const body = JSON.parse(text) as { code?: string; message?: string };
      return [body.code, body.message].filter(Boolean).join(': ') || text.slice(0, 200);
    } catch {
      return text.slice(0, 200);
    }
  };

  return {
    async probe(adminUrl) {
      try {
        const { status, text } = await call('GET', adminUrl);
        if (status === 404 || status === 503) return { kind: 'no-config' };
        if (status !== 200) return { kind: 'error', message: `GET /v1/config answered ${status}` };
        const body = JSON.parse(text) as { revision?: unknown; digest?: unknown };
        if (typeof body.revision !== 'number' || typeof body.digest !== 'string') {
          return body.revision === undefined || body.revision === null
            ? { kind: 'no-config' }
            : { kind: 'error', message: 'GET /v1/config: no revision/digest' };
        }
        return { kind: 'config', revision: body.revision, digest: body.digest };
      } catch (e) {
        return { kind: 'error', message: (e as Error).message };
      }
    },
    async push(adminUrl, jws) {
      try {
        const { status, text } = await call('PUT', adminUrl, jws);
        if (status >= 200 && status < 300) return { kind: 'applied' };
        if (status === 409) return { kind: 'stale' };
        if (status === 400 || status === 401 || status === 403 || status === 422) {
          return { kind: 'rejected', status, message: messageOf(text) };
        }
        return { kind: 'error', message: `PUT /v1/config answered ${status}: ${messageOf(text)}` };
      } catch (e) {
        return { kind: 'error', message: (e as Error).message };
      }
    },
    close: () => agent.destroy(),
  };
}
