/**
 * Access tokens shaped like the ones Okta, Microsoft Entra ID and PingFederate issue for the client
 * credentials grant (claim names, types and issuer formats from shared research, zscaler-spec.md §4),
 * signed with a local RS256 key, and a tiny HTTPS JWKS server that publishes those keys. We cannot run
 * those vendors' servers; what matters to scopegate is the token's shape and a JWKS it can fetch.
 *
 *   const key = await createSigningKey('okta-key-1');
 *   const jwks = await startJwksServer({ keys: [key] });
 *   const token = await mintProviderShapedToken('okta', { key, audience, clientId: 'ok1', roles: [...] });
 */
import { randomUUID } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createTestCa, type TestCa } from './test-ca.js';

export type ProviderKind = 'okta' | 'entra-v1' | 'entra-v2' | 'pingfederate';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  /** The public JWK (with kid, alg, use) as a JWKS publishes it. */
  publicJwk: JWK;
}

export async function createSigningKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export interface ShapedTokenOptions {
  key: SigningKey;
  /** Default: the vendor's format (see defaultIssuer). */
  issuer?: string;
  audience: string;
  clientId: string;
  /** The scope values, e.g. ['acme::1234567::admin']. */
  roles: string[];
  /** Entra ID tenant; default a fixed GUID. */
  tenantId?: string;
  /** Okta authorization server ID; default `aus-scopegate-e2e`. */
  oktaAuthServerId?: string;
  /** PingFederate: `scope` as a space-separated string (default) or `scp` as an array. */
  pingScopeClaim?: 'scope' | 'scp';
  /** Default 3600 s. */
  lifetimeSeconds?: number;
  /** Seconds since the epoch; default now. */
  issuedAt?: number;
  /** Merged last: override or add claims. */
  extraClaims?: JWTPayload;
}

export const DEFAULT_TENANT_ID = '72f988bf-86f1-41af-91ab-2d7cd011db47';

/** The `iss` each vendor puts in its access tokens. */
export function defaultIssuer(
  kind: ProviderKind,
  o: { tenantId?: string; oktaAuthServerId?: string } = {},
): string {
  const tid = o.tenantId ?? DEFAULT_TENANT_ID;
  switch (kind) {
    case 'okta':
      return `https://scopegate-e2e.okta.com/oauth2/${o.oktaAuthServerId ?? 'aus-scopegate-e2e'}`;
    case 'entra-v1':
      return `https://sts.windows.net/${tid}/`;
    case 'entra-v2':
      return `https://login.microsoftonline.com/${tid}/v2.0`;
    case 'pingfederate':
      return 'https://pingfederate.scopegate.test:9031';
  }
}

/** The scopegate `provider` of the AuthorizationServer that trusts tokens of this kind. */
export const AUTHORIZATION_SERVER_PROVIDER: Record<ProviderKind, 'Okta' | 'EntraID' | 'PingFederate'> = {
  okta: 'Okta',
  'entra-v1': 'EntraID',
  'entra-v2': 'EntraID',
  pingfederate: 'PingFederate',
};

/** The claims (without iat/exp/iss/aud) that carry the client and its roles, per vendor. */
function vendorClaims(kind: ProviderKind, o: ShapedTokenOptions): JWTPayload {
  const tid = o.tenantId ?? DEFAULT_TENANT_ID;
  const objectId = randomUUID();
  switch (kind) {
    case 'okta':
      // Okta custom authorization server, client credentials: `scp` array, `cid`; no `uid` (no user).
      return { ver: 1, jti: `AT.${randomUUID()}`, cid: o.clientId, sub: o.clientId, scp: o.roles };
    case 'entra-v1':
      // Entra ID v1.0 app-only token: app roles in `roles`, client in `appid`; no `scp`.
      return {
        ver: '1.0',
        appid: o.clientId,
        appidacr: '1',
        idp: `https://sts.windows.net/${tid}/`,
        oid: objectId,
        sub: objectId,
        tid,
        roles: o.roles,
        uti: randomUUID().replaceAll('-', '').slice(0, 22),
      };
    case 'entra-v2':
      // Entra ID v2.0 app-only token: `azp` instead of `appid`.
      return {
        ver: '2.0',
        azp: o.clientId,
        azpacr: '1',
        oid: objectId,
        sub: objectId,
        tid,
        roles: o.roles,
        uti: randomUUID().replaceAll('-', '').slice(0, 22),
      };
    case 'pingfederate':
      // PingFederate JWT access token manager: `client_id`; scopes as a space-delimited `scope` string
      // (the ATM's "Space Delimit Scope Values") or a `scp` array (the Scope Claim Name Zscaler uses).
      return {
        client_id: o.clientId,
        jti: randomUUID(),
        ...(o.pingScopeClaim === 'scp' ? { scp: o.roles } : { scope: o.roles.join(' ') }),
      };
  }
}

export async function mintProviderShapedToken(kind: ProviderKind, o: ShapedTokenOptions): Promise<string> {
  const iat = o.issuedAt ?? Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    ...vendorClaims(kind, o),
    iss: o.issuer ?? defaultIssuer(kind, o),
    aud: o.audience,
    iat,
    // Entra sets nbf; the others do not.
    ...(kind.startsWith('entra') ? { nbf: iat } : {}),
    exp: iat + (o.lifetimeSeconds ?? 3600),
    ...o.extraClaims,
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.key.kid })
    .sign(o.key.privateKey);
}

export interface JwksServer {
  /** `https://<host>:<port>/keys` */
  readonly uri: string;
  readonly caPem: string;
  /** Replaces the published keys (rotation). */
  setKeys(keys: SigningKey[]): void;
  /** How many times the JWKS was fetched. */
  readonly fetchCount: number;
  stop(): Promise<void>;
}

/** Publishes the public halves of `keys` at `/keys` over HTTPS (a test CA; default a fresh one). */
export async function startJwksServer(o: {
  keys: SigningKey[];
  host?: string;
  ca?: TestCa;
}): Promise<JwksServer> {
  const host = o.host ?? '127.0.0.1';
  const ca = o.ca ?? (await createTestCa('scopegate e2e JWKS CA'));
  const cert = await ca.issue({ ips: [host], dnsNames: ['localhost'] });
  let body = '';
  let fetchCount = 0;
  const setKeys = (keys: SigningKey[]) => {
    body = JSON.stringify({ keys: keys.map((k) => k.publicJwk) });
  };
  setKeys(o.keys);
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    if (req.method === 'GET' && req.url === '/keys') {
      fetchCount += 1;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' }).end(body);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopped = false;
  return {
    uri: `https://${host}:${port}/keys`,
    caPem: ca.caPem,
    setKeys,
    get fetchCount() {
      return fetchCount;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
