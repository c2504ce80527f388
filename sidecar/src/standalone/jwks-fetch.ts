/**
 * Fetches an authorization server's JWKS in standalone mode: https only, no redirects, a timeout
 * for the whole exchange, a size cap read as the body streams in, and an optional private CA
 * (`caBundle`) through an undici Agent with `connect.ca`. Parsing the document is a pure function.
 */
import { Agent, request, type Dispatcher } from 'undici';
import type { Jwk } from '../../../crds/src/index.js';
import type { JwksFetchResult } from '../telemetry/metrics.js';

export interface JwksFetchOptions {
  timeoutMs: number;
  maxBytes: number;
}

export const DEFAULT_JWKS_FETCH: JwksFetchOptions = { timeoutMs: 5000, maxBytes: 256 * 1024 };
const MAX_KEYS = 64;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'];

export class JwksFetchError extends Error {
  override readonly name = 'JwksFetchError';
  constructor(
    /** Also the `result` label of scopegate_sidecar_jwks_fetches_total. */
    readonly kind: Exclude<JwksFetchResult, 'success'>,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type JwksParseResult = { ok: true; keys: Jwk[]; ignored: number } | { ok: false; message: string };

/**
 * Keeps the public signing keys of a JWKS document. Keys for encryption or of other types are
 * skipped; a key with private members means the server publishes secrets, and the whole set is
 * refused. An empty result is an error too: keeping the last good keys is safer than trusting none.
 */
export function parseJwksDocument(document: unknown): JwksParseResult {
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (typeof document !== 'object' || document === null || !Array.isArray(keys)) {
    return { ok: false, message: 'the document is not a JWKS (no "keys" array)' };
  }
  if (keys.length > MAX_KEYS) return { ok: false, message: `the JWKS has more than ${MAX_KEYS} keys` };
  const usable: Jwk[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null) continue;
    const jwk = key as Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((m) => jwk[m] !== undefined)) {
      return { ok: false, message: 'the JWKS contains private or symmetric key material; refusing it' };
    }
    if (!['RSA', 'EC', 'OKP'].includes(jwk['kty'] as string)) continue;
    if (jwk['use'] !== undefined && jwk['use'] !== 'sig') continue;
    if (jwk['kid'] !== undefined && (typeof jwk['kid'] !== 'string' || jwk['kid'].length > 256)) continue;
    usable.push(jwk as unknown as Jwk);
  }
  if (usable.length === 0) return { ok: false, message: 'the JWKS has no usable public signing key' };
  return { ok: true, keys: usable, ignored: keys.length - usable.length };
}

/** One undici Agent per distinct CA bundle (and one for the system trust store), closed together. */
export class JwksHttpClient {
  readonly #agents = new Map<string, Agent>();
  readonly #options: JwksFetchOptions;

  constructor(options: Partial<JwksFetchOptions> = {}) {
    this.#options = { ...DEFAULT_JWKS_FETCH, ...options };
  }

  async fetchKeys(uri: string, caBundle?: string): Promise<Jwk[]> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new JwksFetchError('invalid', 'jwks.uri is not a URL');
    }
    if (url.protocol !== 'https:') throw new JwksFetchError('invalid', 'jwks.uri must be https');
    const body = await this.#get(url, this.#agentFor(caBundle));
    let document: unknown;
    try {
      document = JSON.parse(body);
    } catch {
      throw new JwksFetchError('invalid', 'the response is not JSON');
    }
    const parsed = parseJwksDocument(document);
    if (!parsed.ok) throw new JwksFetchError('invalid', parsed.message);
    return parsed.keys;
  }

  async close(): Promise<void> {
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map((agent) => agent.close().catch(() => undefined)));
  }

  #agentFor(caBundle: string | undefined): Agent {
    const key = caBundle ?? '';
    let agent = this.#agents.get(key);
    if (agent === undefined) {
      agent = new Agent({
        connect: { ...(caBundle === undefined ? {} : { ca: caBundle }), timeout: this.#options.timeoutMs },
        keepAliveTimeout: 1000,
        connections: 2,
      });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  async #get(url: URL, dispatcher: Dispatcher): Promise<string> {
    const { timeoutMs, maxBytes } = this.#options;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'GET',
        headers: { accept: 'application/jwk-set+json, application/json' },
        dispatcher,
        signal,
      });
    } catch (cause) {
      throw networkError(cause, signal);
    }
    // Destroying a body we refuse emits an abort error nobody needs to hear about.
    response.body.on('error', () => undefined);
    try {
      if (response.statusCode !== 200) {
        throw new JwksFetchError('http_error', `the JWKS endpoint answered ${response.statusCode}`);
      }
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        throw new JwksFetchError('too_large', `the JWKS is larger than ${maxBytes} bytes`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > maxBytes)
          throw new JwksFetchError('too_large', `the JWKS is larger than ${maxBytes} bytes`);
        chunks.push(chunk as Buffer);
      }
      return Buffer.concat(chunks).toString('utf8');
    } catch (error) {
      if (error instanceof JwksFetchError) throw error;
      throw networkError(error, signal);
    } finally {
      // Stop reading a body we refused (too large, wrong status) instead of draining it.
      if (!response.body.destroyed) response.body.destroy();
    }
  }
}

function networkError(cause: unknown, signal: AbortSignal): JwksFetchError {
  const code = (cause as { code?: string }).code;
  if (signal.aborted || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new JwksFetchError('timeout', 'the JWKS endpoint did not answer in time', { cause });
  }
  const detail = code ?? (cause instanceof Error ? cause.message : 'unknown error');
  return new JwksFetchError('network', `the JWKS endpoint could not be reached (${detail})`, { cause });
}
