/**
 * Fetches a JWKS over HTTPS only, with a timeout, a response size cap, no redirects and an optional
 * private CA (`caBundle`). Returns a classified outcome; never throws.
 */
import https from 'node:https';
import type { Jwk } from '../../../crds/src/index.js';
import { screenJwks } from './screen.js';

export const MAX_JWKS_BYTES = 256 * 1024;

export type FetchOutcome =
  { ok: true; keys: Jwk[]; dropped: string[] } | { ok: false; reason: string; message: string };

export interface FetchJwksOptions {
  uri: string;
  caBundle?: string;
  timeoutMs: number;
  maxBytes?: number;
}

export type JwksFetcher = (options: FetchJwksOptions) => Promise<FetchOutcome>;

export const fetchJwks: JwksFetcher = ({ uri, caBundle, timeoutMs, maxBytes = MAX_JWKS_BYTES }) => {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return Promise.resolve({ ok: false, reason: 'InvalidUri', message: `jwks.uri '${uri}' is not a URL` });
  }
  if (url.protocol !== 'https:') {
    return Promise.resolve({ ok: false, reason: 'InvalidUri', message: 'jwks.uri must be https' });
  }
  return new Promise<FetchOutcome>((resolve) => {
    let done = false;
    const finish = (outcome: FetchOutcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const req = https.request(url, {
      method: 'GET',
      headers: { accept: 'application/jwk-set+json, application/json' },
      ...(caBundle ? { ca: caBundle } : {}),
      agent: false,
    });
    const timer = setTimeout(
      () =>
        finish({
          ok: false,
          reason: 'FetchTimeout',
          message: `no complete answer from ${uri} within ${timeoutMs}ms`,
        }),
      timeoutMs,
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      const tls = e.code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/.test(e.code);
      finish({
        ok: false,
        reason: tls ? 'TlsError' : 'FetchFailed',
        message: tls
          ? `TLS to ${uri} failed (${e.code}): set jwks.caBundle to the CA that signed the server's certificate`
          : `could not fetch ${uri}: ${e.code ?? e.message}`,
      });
    });
    req.on('response', (res) => {
      // Destroying the request after an answer makes the response emit 'aborted' errors: expected.
      res.on('error', () => undefined);
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        res.resume();
        const hint =
          status >= 300 && status < 400 ? ' (redirects are not followed: set jwks.uri to the final URL)' : '';
        return finish({ ok: false, reason: 'HttpError', message: `${uri} answered HTTP ${status}${hint}` });
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          return finish({
            ok: false,
            reason: 'InvalidKeySet',
            message: `the key set from ${uri} is larger than ${maxBytes} bytes`,
          });
        }
        chunks.push(chunk);
      });
      res.on('error', (e) =>
        finish({ ok: false, reason: 'FetchFailed', message: `reading ${uri} failed: ${e.message}` }),
      );
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return finish({ ok: false, reason: 'InvalidKeySet', message: `${uri} did not return JSON` });
        }
        const screened = screenJwks(body);
        finish(screened.ok ? screened : { ok: false, reason: screened.reason, message: screened.message });
      });
    });
    req.end();
  });
};
