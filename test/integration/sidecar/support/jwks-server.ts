/**
 * A real HTTPS JWKS endpoint on 127.0.0.1 with a certificate from a throwaway CA (the sidecar gets
 * the CA as the AuthorizationServer's caBundle). Its key set can be replaced (rotation) and it can
 * be made to fail (outage), and it counts the fetches it served.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { createTestCa } from '../../../support/test-ca.js';

export interface JwksServer {
  uri: string;
  caPem: string;
  fetches: number;
  setKeys(keys: JWK[]): void;
  /** While down, every fetch gets a 503. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const ca = await createTestCa('scopegate sidecar test CA');
  const cert = await ca.issue({ ips: ['127.0.0.1'] });
  let current = keys;
  let down = false;
  const state = { fetches: 0 };
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    state.fetches += 1;
    if (down) return void res.writeHead(503).end('down');
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys: current }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    uri: `https://127.0.0.1:${port}/keys`,
    caPem: ca.caPem,
    get fetches() {
      return state.fetches;
    },
    set fetches(n: number) {
      state.fetches = n;
    },
    setKeys(next) {
      current = next;
    },
    setDown(value) {
      down = value;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
