/**
 * The real `scopegate sidecar` process (standalone, compiled CLI) between a real upstream and a real
 * HTTPS JWKS endpoint. Every hostile or wrong request must be denied with the right status and
 * reason, audited, and never reach the upstream; allowed ones reach it with the identity headers set
 * and the Authorization header stripped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './support/build.js';
import { bearer, send, type RawRequest } from './support/client.js';
import { startJwksServer, type JwksServer } from './support/jwks-server.js';
import { resourcesYaml } from './support/resources.js';
import { startSidecarProcess, type SidecarProcess } from './support/sidecar-process.js';
import {
  CLOUD,
  hmacWithPublicKey,
  ISSUER,
  mint,
  ORG,
  payloadOf,
  reassemble,
  scope,
  signingKey,
  signPayload,
  signRawRs256,
  type SigningKey,
} from './support/tokens.js';
import { startUpstream, type TestUpstream } from './support/upstream.js';

let dir: string;
let upstream: TestUpstream;
let jwks: JwksServer;
let sidecar: SidecarProcess;
let key: SigningKey;
let attacker: SigningKey;
let readerToken: string;
const mintedTokens: string[] = [];

beforeAll(async () => {
  await ensureBuilt();
  key = await signingKey('k1');
  attacker = await signingKey('k1'); // same kid, different key
  [upstream, jwks] = await Promise.all([startUpstream(), startJwksServer([key.publicJwk])]);
  dir = await mkdtemp(join(tmpdir(), 'scopegate-hostile-'));
  const resources = join(dir, 'resources.yaml');
  await writeFile(resources, resourcesYaml({ jwksUri: jwks.uri, caPem: jwks.caPem }));
  sidecar = await startSidecarProcess([
    '--resources',
    resources,
    '--cloud',
    CLOUD,
    '--org-id',
    ORG,
    '--cloud-domain',
    'zscaler.net',
    '--upstream',
    upstream.url,
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
  ]);
  readerToken = await mint(key, [scope('reader')]);
  mintedTokens.push(readerToken);
});

afterAll(async () => {
  const code = await sidecar?.stop();
  expect(code).toBe(0);
  await Promise.all([upstream?.close(), jwks?.close()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const tok = async (t: Promise<string> | string) => {
  const value = await t;
  mintedTokens.push(value);
  return value;
};

interface HostileCase {
  name: string;
  status: 400 | 401 | 403;
  code: string;
  request: () => Promise<RawRequest>;
}

const get = (path: string, headers: string[] = []) => ({ method: 'GET', path, headers });
const asReader = async (path: string, extra: string[] = [], method = 'GET') => ({
  method,
  path,
  headers: [...bearer(readerToken), ...extra],
});
const withToken =
  (token: () => Promise<string> | string, path = '/orders/1') =>
  async () => ({
    method: 'GET',
    path,
    headers: bearer(await tok(token())),
  });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = (t: string) =>
  JSON.parse(Buffer.from(t.split('.')[0] as string, 'base64url').toString()) as object;

const CASES: HostileCase[] = [
  // --- no or unusable credentials --------------------------------------------------------------
  {
    name: 'no Authorization header',
    status: 401,
    code: 'token_missing',
    request: async () => get('/orders/1'),
  },
  {
    name: 'Basic credentials',
    status: 401,
    code: 'token_malformed',
    request: async () => get('/orders/1', ['authorization', 'Basic dXNlcjpwYXNz']),
  },
  {
    name: 'Bearer without a token',
    status: 401,
    code: 'token_malformed',
    request: async () => get('/orders/1', ['authorization', 'Bearer ']),
  },
  {
    name: 'Bearer followed by two spaces',
    status: 401,
    code: 'token_malformed',
    request: async () => get('/orders/1', ['authorization', `Bearer  ${readerToken}`]),
  },
  { name: 'not a JWT', status: 401, code: 'token_malformed', request: withToken(() => 'abc.def') },
  {
    name: 'a JWE (five parts)',
    status: 401,
    code: 'token_malformed',
    request: withToken(() => 'eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d'),
  },
  {
    name: 'a part that is not base64url JSON',
    status: 401,
    code: 'token_malformed',
    request: withToken(() => `${readerToken.split('.')[0]}.bm90LWpzb24.${readerToken.split('.')[2]}`),
  },
  {
    name: 'an oversized token (9 KiB)',
    status: 401,
    code: 'token_malformed',
    request: withToken(async () => mint(key, [scope('reader')], { claims: { pad: 'x'.repeat(9000) } })),
  },
  {
    name: 'two Authorization headers',
    status: 400,
    code: 'request_invalid',
    request: async () => get('/orders/1', [...bearer(readerToken), ...bearer(readerToken)]),
  },
  // --- signature and algorithm attacks -----------------------------------------------------------
  {
    name: 'alg none without a signature',
    status: 401,
    code: 'token_malformed',
    request: withToken(() => reassemble(readerToken, { alg: 'none', typ: 'JWT' }, '')),
  },
  {
    name: 'alg none with a signature',
    status: 401,
    code: 'algorithm_not_allowed',
    request: withToken(() => reassemble(readerToken, { alg: 'none', kid: 'k1' }, 'c2lnbmF0dXJl')),
  },
  {
    name: 'HS256 keyed with the RSA public key (PEM)',
    status: 401,
    code: 'algorithm_not_allowed',
    request: withToken(() => hmacWithPublicKey(readerToken, key, 'pem')),
  },
  {
    name: 'HS256 keyed with the RSA public key (JWK text)',
    status: 401,
    code: 'algorithm_not_allowed',
    request: withToken(() => hmacWithPublicKey(readerToken, key, 'jwk')),
  },
  {
    name: 'a stripped signature',
    status: 401,
    code: 'token_malformed',
    request: withToken(() => readerToken.split('.').slice(0, 2).join('.') + '.'),
  },
  {
    name: 'a signature by another key with the same kid',
    status: 401,
    code: 'signature_invalid',
    request: withToken(() => mint(attacker, [scope('admin')])),
  },
  {
    name: 'a payload changed after signing',
    status: 401,
    code: 'signature_invalid',
    request: withToken(() => {
      const payload = { ...payloadOf(readerToken), scp: [scope('admin')] };
      const [h, , s] = readerToken.split('.');
      return `${h}.${b64(payload)}.${s}`;
    }),
  },
  {
    name: 'ES256 in the header over an RSA key',
    status: 401,
    code: 'algorithm_not_allowed',
    request: withToken(() =>
      reassemble(readerToken, { ...header(readerToken), alg: 'ES256' }, readerToken.split('.')[2] as string),
    ),
  },
  {
    name: 'a jku header pointing at the attacker keys',
    status: 401,
    code: 'key_unknown',
    request: withToken(async () => {
      const evil = await signingKey('evil-jku');
      return mint(evil, [scope('admin')], { header: { jku: 'https://attacker.test/keys.json' } });
    }),
  },
  {
    name: 'an x5u header pointing at the attacker certificate',
    status: 401,
    code: 'key_unknown',
    request: withToken(async () => {
      const evil = await signingKey('evil-x5u');
      return mint(evil, [scope('admin')], { header: { x5u: 'https://attacker.test/cert.pem' } });
    }),
  },
  {
    name: 'an embedded jwk header with the attacker key',
    status: 401,
    code: 'key_unknown',
    request: withToken(async () => {
      const evil = await signingKey('evil-jwk');
      return mint(evil, [scope('admin')], { header: { jwk: evil.publicJwk } });
    }),
  },
  {
    name: 'an embedded jwk header under the trusted kid',
    status: 401,
    code: 'signature_invalid',
    request: withToken(() => mint(attacker, [scope('admin')], { header: { jwk: attacker.publicJwk } })),
  },
  {
    name: 'a crit header',
    status: 401,
    code: 'token_malformed',
    request: withToken(() =>
      signRawRs256(
        key,
        { alg: 'RS256', kid: key.kid, crit: ['urn:x-critical'], 'urn:x-critical': true },
        payloadOf(readerToken),
      ),
    ),
  },
  {
    name: 'a kid with path traversal',
    status: 401,
    code: 'key_unknown',
    request: withToken(() => mint({ ...key, kid: '../../../../dev/null' }, [scope('reader')])),
  },
  {
    name: 'a kid with SQL',
    status: 401,
    code: 'key_unknown',
    request: withToken(() => mint({ ...key, kid: "k1' OR '1'='1" }, [scope('reader')])),
  },
  {
    name: 'a numeric kid',
    status: 401,
    code: 'token_malformed',
    request: withToken(() => mint(key, [scope('reader')], { header: { kid: 1 } })),
  },
  {
    name: 'a config bundle typ',
    status: 401,
    code: 'token_malformed',
    request: withToken(() => mint(key, [scope('reader')], { header: { typ: 'scopegate-config+jws' } })),
  },
  // --- claims -----------------------------------------------------------------------------------
  {
    name: 'an expired token',
    status: 401,
    code: 'token_expired',
    request: withToken(() => mint(key, [scope('reader')], { expiresIn: -600 })),
  },
  {
    name: 'a token valid only in the future (nbf)',
    status: 401,
    code: 'token_not_yet_valid',
    request: withToken(() => mint(key, [scope('reader')], { notBefore: 600 })),
  },
  {
    name: 'an unknown issuer',
    status: 401,
    code: 'issuer_unknown',
    request: withToken(() => mint(key, [scope('reader')], { claims: { iss: 'https://attacker.test' } })),
  },
  {
    name: 'the issuer of a disabled server',
    status: 401,
    code: 'server_disabled',
    request: withToken(() => mint(key, [scope('reader')], { claims: { iss: 'https://legacy.test' } })),
  },
  {
    name: 'another audience',
    status: 401,
    code: 'audience_mismatch',
    request: withToken(() => mint(key, [scope('reader')], { claims: { aud: 'api://payments' } })),
  },
  {
    name: 'a client that is not allowed',
    status: 401,
    code: 'client_not_allowed',
    request: withToken(() => mint(key, [scope('reader')], { claims: { cid: 'intruder' } })),
  },
  {
    name: 'no scope claim at all',
    status: 403,
    code: 'scope_missing',
    request: withToken(() => signPayload(key, { ...payloadOf(readerToken), scp: undefined })),
  },
  // --- roles ------------------------------------------------------------------------------------
  {
    name: 'another cloud',
    status: 403,
    code: 'scope_missing',
    request: withToken(() => mint(key, [scope('reader', 'othercloud')])),
  },
  {
    name: 'another org',
    status: 403,
    code: 'scope_missing',
    request: withToken(() => mint(key, [scope('reader', CLOUD, '9999')])),
  },
  {
    name: 'a cloud name with a prefix',
    status: 403,
    code: 'scope_missing',
    request: withToken(() => mint(key, [`x${scope('reader')}`])),
  },
  {
    name: 'an undefined role',
    status: 403,
    code: 'role_unknown',
    request: withToken(() => mint(key, [scope('superadmin')])),
  },
  {
    name: 'a role in another case',
    status: 403,
    code: 'role_unknown',
    request: withToken(() => mint(key, [scope('READER')])),
  },
  {
    name: 'a role with a suffix',
    status: 403,
    code: 'role_unknown',
    request: withToken(() => mint(key, [scope('reader2')])),
  },
  {
    name: 'a role with an extra segment',
    status: 403,
    code: 'scope_missing',
    request: withToken(() => mint(key, [`${scope('reader')}::admin`])),
  },
  {
    name: 'a role with trailing whitespace',
    status: 403,
    code: 'scope_missing',
    request: withToken(() => mint(key, [`${scope('reader')} `.replace(/ $/, '\t')])),
  },
  // --- permissions ------------------------------------------------------------------------------
  {
    name: 'a write with a read-only role',
    status: 403,
    code: 'permission_denied',
    request: () => asReader('/orders/1', [], 'DELETE'),
  },
  {
    name: 'a path outside the role',
    status: 403,
    code: 'permission_denied',
    request: () => asReader('/admin/users'),
  },
  {
    name: 'the admin API on the public port',
    status: 403,
    code: 'permission_denied',
    request: () => asReader('/v1/config'),
  },
  {
    name: 'TRACE',
    status: 403,
    code: 'permission_denied',
    request: () => asReader('/orders/1', [], 'TRACE'),
  },
  {
    name: 'PROPFIND',
    status: 403,
    code: 'permission_denied',
    request: () => asReader('/orders/1', [], 'PROPFIND'),
  },
  {
    name: 'an access None permission beats a grant',
    status: 403,
    code: 'permission_denied',
    request: withToken(() => mint(key, [scope('writer')]), '/orders/secret/plans'),
  },
  // --- paths ------------------------------------------------------------------------------------
  {
    name: 'a dot-dot segment',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/../admin/users'),
  },
  { name: 'a dot segment', status: 400, code: 'request_invalid', request: () => asReader('/orders/./1') },
  {
    name: 'an encoded dot-dot',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/%2e%2e/admin/users'),
  },
  {
    name: 'a mixed-case encoded dot-dot',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/.%2E/admin/users'),
  },
  {
    name: 'an encoded slash',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders%2F..%2Fadmin'),
  },
  { name: 'a backslash', status: 400, code: 'request_invalid', request: () => asReader('/orders/..\\admin') },
  {
    name: 'a double encoding',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/%252e%252e/admin'),
  },
  {
    name: 'a path parameter',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1;/../../admin'),
  },
  {
    name: 'an overlong UTF-8 dot',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/%c0%ae%c0%ae/admin'),
  },
  {
    name: 'an encoded NUL',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1%00.json'),
  },
  {
    name: 'an absolute-form target',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('http://evil.test/admin'),
  },
  // --- headers ----------------------------------------------------------------------------------
  {
    name: 'X-HTTP-Method-Override',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1', ['X-HTTP-Method-Override', 'DELETE']),
  },
  {
    name: 'X-HTTP-Method',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1', ['X-HTTP-Method', 'DELETE']),
  },
  {
    name: 'X-Method-Override',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1', ['X-Method-Override', 'PUT']),
  },
  {
    name: 'X-Original-URL',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1', ['X-Original-URL', '/admin/users']),
  },
  {
    name: 'a spoofed x-scopegate-roles',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1', ['X-Scopegate-Roles', 'admin']),
  },
  {
    name: 'a spoofed x-scopegate-admin-id',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1', ['x-scopegate-admin-id', `oauth-admin$@${ORG}.zscaler.net`]),
  },
  {
    name: 'a spoofed x-scopegate-client-id',
    status: 400,
    code: 'request_invalid',
    request: () => asReader('/orders/1', ['x-scopegate-client-id', 'trusted-client']),
  },
];

describe('hostile and wrong requests through the real sidecar process', () => {
  it('has at least 40 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
  });

  it.each(CASES)('$name → $status $code', async ({ status, code, request }) => {
    const before = upstream.seen.length;
    const res = await send(sidecar.listenUrl, await request());
    expect({ status: res.status, code: res.json.code }).toEqual({ status, code });
    expect(res.headers['content-type']).toContain('application/json');
    if (status === 401)
      expect(res.headers['www-authenticate']).toMatch(/^Bearer( error="invalid_token".*)?$/);
    if (status === 403) expect(res.headers['www-authenticate']).toMatch(/^Bearer error="insufficient_scope"/);
    expect(upstream.seen.length).toBe(before);
  });
});

describe('requests Node refuses before any routing', () => {
  it('answers headers too large with 431 as JSON, without reaching the upstream', async () => {
    const before = upstream.seen.length;
    const res = await send(sidecar.listenUrl, {
      path: '/orders/1',
      headers: ['authorization', `Bearer ${'a'.repeat(20_000)}`],
    });
    expect(res.status).toBe(431);
    expect(res.json.code).toBe('request_invalid');
    expect(upstream.seen.length).toBe(before);
  });
});

describe('allowed requests through the real sidecar process', () => {
  it('reach the upstream with identity headers, the normalised path and no Authorization', async () => {
    const res = await send(sidecar.listenUrl, {
      path: '//orders///42/?expand=items&x=%20y',
      headers: [
        ...bearer(readerToken),
        'x-request-id',
        'trace-123',
        'connection',
        'keep-alive, x-hop',
        'x-hop',
        'secret',
      ],
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toBe('trace-123');
    expect(res.headers['x-upstream']).toBe('yes');
    const seen = upstream.seen.at(-1)!;
    expect(seen.url).toBe('/orders/42/?expand=items&x=%20y');
    expect(seen.headers['authorization']).toBeUndefined();
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers['x-request-id']).toBe('trace-123');
    expect(seen.headers['x-scopegate-client-id']).toBe('client-orders');
    expect(seen.headers['x-scopegate-roles']).toBe('reader');
    expect(seen.headers['x-scopegate-admin-id']).toBe(`oauth-reader$@${ORG}.zscaler.net`);
  });

  it('name every role of the caller and the admin ID of the one that matched', async () => {
    const token = await tok(
      mint(key, [scope('reader'), scope('writer'), scope('unknown-role'), scope('admin', 'other')]),
    );
    const res = await send(sidecar.listenUrl, {
      method: 'POST',
      path: '/orders',
      headers: bearer(token),
      body: '{}',
    });
    expect(res.status).toBe(200);
    const seen = upstream.seen.at(-1)!;
    expect(seen.method).toBe('POST');
    expect(seen.headers['x-scopegate-roles']).toBe('reader,writer');
    expect(seen.headers['x-scopegate-admin-id']).toBe(`oauth-writer$@${ORG}.zscaler.net`);
  });

  it('generate an x-request-id when the caller sends none or a bad one', async () => {
    const res = await send(sidecar.listenUrl, {
      path: '/orders/1',
      headers: [...bearer(readerToken), 'x-request-id', 'bad id'],
    });
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(upstream.seen.at(-1)!.headers['x-request-id']).toBe(res.headers['x-request-id']);
  });

  it('wrote one audit record per request, with the fixed schema and never a token', async () => {
    // The audit stream is stdout; give the asynchronous writer a moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const records = sidecar
      .stdout()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.length).toBeGreaterThanOrEqual(CASES.length + 3);
    const denied = records.filter((r) => r['decision'] === 'deny');
    expect(denied.length).toBeGreaterThanOrEqual(CASES.length);
    for (const record of records) {
      expect(Object.keys(record).sort()).toEqual(
        [
          'schema',
          'time',
          'requestId',
          'decision',
          'reason',
          'status',
          'adminId',
          'adminIds',
          'roles',
          'permission',
          'clientId',
          'issuer',
          'server',
          'method',
          'path',
          'latencyMs',
          'sourceAddress',
          'configRevision',
          'upstreamError',
        ].sort(),
      );
    }
    const allowed = records.find((r) => r['decision'] === 'allow' && r['path'] === '/orders/42/');
    expect(allowed).toMatchObject({
      reason: 'allowed',
      status: 200,
      requestId: 'trace-123',
      adminId: `oauth-reader$@${ORG}.zscaler.net`,
      roles: ['reader'],
      clientId: 'client-orders',
      issuer: ISSUER,
      server: 'shop/okta',
      method: 'GET',
      sourceAddress: '127.0.0.1',
      configRevision: 1,
    });
    const everything = sidecar.stdout() + sidecar.stderr();
    const signatures = mintedTokens.map((t) => t.split('.')[2] ?? '').filter((s) => s.length >= 20);
    expect(signatures.length).toBeGreaterThan(20);
    for (const signature of signatures) expect(everything).not.toContain(signature);
  });
});
