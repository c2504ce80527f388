/**
 * A real OAuth 2.0 authorization server for the e2e tier and the demo: `oidc-provider` behind HTTPS on
 * a loopback address, issuing client-credentials access tokens as RS256 JWTs whose `scope` claim holds
 * the scopegate role scopes (`acme::1234567::admin`). Tokens are fetched for real over HTTP with
 * `grant_type=client_credentials` and client_secret_basic, exactly as a machine client would.
 *
 *   const idp = await startIdentityProvider({ clients: [{ clientId: 'ci', clientSecret: 's', scopes: [...] }] });
 *   const token = await idp.token('ci');            // every scope the client may have
 *   const kid = await idp.rotateKeys();              // new signing key, same issuer and port
 *   await idp.stop();
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Adapter, AdapterPayload, Configuration, JWK } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';
import { httpRequest, type HttpResponse } from './http-client.js';
import { createTestCa, type TestCa } from './test-ca.js';

export interface IdpClient {
  clientId: string;
  clientSecret: string;
  /** Scopes the client may be granted; a token request without `scope` gets all of them. */
  scopes: string[];
}

export interface IdentityProviderOptions {
  /** Loopback address to bind; default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  clients: IdpClient[];
  /** The resource (token `aud`); default https://api.scopegate.test. */
  audience?: string;
  /** Access token lifetime; default 600 s. */
  tokenTtlSeconds?: number;
  /** CA that issues the serving certificate; default a fresh one. */
  ca?: TestCa;
}

export interface IdentityProvider {
  /** `https://<host>:<port>`, the tokens' `iss`. */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
  readonly audience: string;
  /** PEM of the CA of the HTTPS certificate: the AuthorizationServer's `jwks.caBundle`. */
  readonly caPem: string;
  readonly clients: readonly IdpClient[];
  /** `kid` of the key that signs new tokens. */
  currentKid(): string;
  /** Fetches an access token over HTTPS; rejects unless the server answers 200. */
  token(clientId: string, scopes?: string[]): Promise<string>;
  /** The raw token endpoint response, for asserting refusals (`invalid_scope`, `invalid_client`). */
  tokenResponse(clientId: string, opts?: { scopes?: string[]; clientSecret?: string }): Promise<HttpResponse>;
  /**
   * Adds a new RS256 signing key and makes it current; earlier keys stay published (tokens they signed
   * still verify) unless `retirePrevious`. Same issuer, port and certificate. Resolves with the new kid.
   */
  rotateKeys(opts?: { retirePrevious?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export const DEFAULT_AUDIENCE = 'https://api.scopegate.test';

/** Given to a client without roles as its only allowed scope; no resource server ever grants it. */
const NO_SCOPE = 'idp:no-scope';

/**
 * oidc-provider 9 warns at import that it wants Node 22 LTS. It runs on Node 20 (the harness tests
 * prove it on every run), so that one line is dropped to keep test and demo output readable.
 */
async function loadProvider(): Promise<typeof import('oidc-provider').default> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (String(args[0]).includes('oidc-provider WARNING: Unsupported runtime')) return;
    warn(...args);
  };
  try {
    return (await import('oidc-provider')).default;
  } finally {
    console.warn = warn;
  }
}

/** In-memory storage, one per identity provider (oidc-provider's own dev adapter, without its warning). */
class MemoryAdapter implements Adapter {
  constructor(
    private readonly store: Map<string, AdapterPayload>,
    private readonly model: string,
  ) {}
  private key(id: string) {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: AdapterPayload) {
    this.store.set(this.key(id), payload);
  }
  async find(id: string) {
    return this.store.get(this.key(id));
  }
  async findByUserCode() {
    return undefined;
  }
  async findByUid() {
    return undefined;
  }
  async consume(id: string) {
    const payload = this.store.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    this.store.delete(this.key(id));
  }
  async revokeByGrantId() {}
}

/** An RS256 private JWK for oidc-provider's `jwks`. */
async function newSigningKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' } as JWK;
}

function providerConfiguration(
  store: Map<string, AdapterPayload>,
  clients: readonly IdpClient[],
  keys: JWK[],
  audience: string,
  ttl: number,
): Configuration {
  const allScopes = [...new Set(clients.flatMap((c) => c.scopes))];
  return {
    adapter: (model: string) => new MemoryAdapter(store, model),
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      // A client without any scope must not be able to ask for one: oidc-provider reads an absent
      // `scope` as "any scope", so such a client gets a scope value no resource server grants.
      scope: c.scopes.length > 0 ? c.scopes.join(' ') : NO_SCOPE,
    })),
    jwks: { keys },
    scopes: [...allScopes, NO_SCOPE],
    ttl: { ClientCredentials: ttl },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: allScopes.join(' '),
          audience,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  };
}

export async function startIdentityProvider(opts: IdentityProviderOptions): Promise<IdentityProvider> {
  const host = opts.host ?? '127.0.0.1';
  const audience = opts.audience ?? DEFAULT_AUDIENCE;
  const ttl = opts.tokenTtlSeconds ?? 600;
  const clients = opts.clients;
  const ca = opts.ca ?? (await createTestCa('scopegate e2e identity provider CA'));
  const cert = await ca.issue({ ips: [host], dnsNames: ['localhost'] });

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) =>
    handler(req, res),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `https://${host}:${port}`;

  const Provider = await loadProvider();
  const store = new Map<string, AdapterPayload>();
  let keys: JWK[] = [];
  let generation = 0;
  const install = () => {
    const provider = new Provider(issuer, providerConfiguration(store, clients, keys, audience, ttl));
    handler = provider.callback();
  };
  const addKey = async () => {
    generation += 1;
    const key = await newSigningKey(`idp-key-${generation}-${Date.now().toString(36)}`);
    return key;
  };
  keys = [await addKey()];
  install();

  const tokenEndpoint = `${issuer}/token`;
  const tokenResponse: IdentityProvider['tokenResponse'] = (clientId, o = {}) => {
    const client = clients.find((c) => c.clientId === clientId);
    if (client === undefined) throw new Error(`identity provider: no client ${clientId}`);
    const scopes = o.scopes ?? client.scopes;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scopes.length > 0) form.set('scope', scopes.join(' '));
    const basic = Buffer.from(
      `${encodeURIComponent(clientId)}:${encodeURIComponent(o.clientSecret ?? client.clientSecret)}`,
    ).toString('base64');
    return httpRequest(tokenEndpoint, {
      method: 'POST',
      ca: ca.caPem,
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
  };

  let stopped = false;
  return {
    issuer,
    tokenEndpoint,
    jwksUri: `${issuer}/jwks`,
    audience,
    caPem: ca.caPem,
    clients,
    currentKid: () => keys[0]!.kid!,
    tokenResponse,
    async token(clientId, scopes) {
      const res = await tokenResponse(clientId, scopes === undefined ? {} : { scopes });
      const accessToken = (res.json as { access_token?: unknown } | undefined)?.access_token;
      if (res.status !== 200 || typeof accessToken !== 'string') {
        throw new Error(`identity provider refused a token for ${clientId}: ${res.status} ${res.body}`);
      }
      return accessToken;
    },
    async rotateKeys(o = {}) {
      const key = await addKey();
      keys = o.retirePrevious ? [key] : [key, ...keys];
      install();
      return key.kid!;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
