import { beforeAll, describe, expect, it } from 'vitest';
import { compileConfig, decide, type CompiledConfig } from '../../../../sidecar/src/pipeline/decide.js';
import { REASON_CODES, REASONS } from '../../../../sidecar/src/pipeline/reasons.js';
import {
  authorizationServer,
  compiledFor,
  ISSUER,
  makeKey,
  mint,
  NOW,
  NOW_S,
  request,
  scope,
  type TestKey,
} from '../builders.js';

let key: TestKey;
let compiled: CompiledConfig;

beforeAll(async () => {
  key = await makeKey('k1');
  compiled = await compiledFor([
    {
      resource: authorizationServer('idp', {
        audiences: ['https://api.example.com'],
        clientIds: ['client-a', 'client-b'],
        requiredClaims: { tid: ['tenant-1'] },
      }),
      keys: [key.jwk],
    },
  ]);
});

const good = { aud: 'https://api.example.com', client_id: 'client-a', tid: 'tenant-1' };

describe('decide: one outcome per reason code', () => {
  const cases: {
    name: string;
    claims?: Record<string, unknown>;
    method?: string;
    url?: string;
    reason: string;
    status: number;
  }[] = [
    { name: 'reader reads', claims: { scope: scope('reader') }, reason: 'allowed', status: 200 },
    {
      name: 'admin deletes',
      claims: { scope: scope('admin') },
      method: 'DELETE',
      reason: 'allowed',
      status: 200,
    },
    {
      name: 'reader may not write',
      claims: { scope: scope('reader') },
      method: 'POST',
      reason: 'permission_denied',
      status: 403,
    },
    {
      name: 'None wins',
      claims: { scope: scope('reader') },
      url: '/v1/admin/users',
      reason: 'permission_denied',
      status: 403,
    },
    {
      name: 'expired',
      claims: { scope: scope('reader'), exp: NOW_S - 61 },
      reason: 'token_expired',
      status: 401,
    },
    {
      name: 'expired within skew',
      claims: { scope: scope('reader'), exp: NOW_S - 30 },
      reason: 'allowed',
      status: 200,
    },
    {
      name: 'nbf in the future',
      claims: { scope: scope('reader'), nbf: NOW_S + 120 },
      reason: 'token_not_yet_valid',
      status: 401,
    },
    {
      name: 'iat in the future',
      claims: { scope: scope('reader'), iat: NOW_S + 120 },
      reason: 'token_not_yet_valid',
      status: 401,
    },
    {
      name: 'no exp',
      claims: { scope: scope('reader'), exp: undefined },
      reason: 'claim_missing',
      status: 401,
    },
    {
      name: 'wrong audience',
      claims: { scope: scope('reader'), aud: 'https://other' },
      reason: 'audience_mismatch',
      status: 401,
    },
    {
      name: 'no audience',
      claims: { scope: scope('reader'), aud: undefined },
      reason: 'audience_mismatch',
      status: 401,
    },
    {
      name: 'audience in array',
      claims: { scope: scope('reader'), aud: ['x', 'https://api.example.com'] },
      reason: 'allowed',
      status: 200,
    },
    {
      name: 'client not allowed',
      claims: { scope: scope('reader'), client_id: 'client-z' },
      reason: 'client_not_allowed',
      status: 401,
    },
    {
      name: 'no client id',
      claims: { scope: scope('reader'), client_id: undefined },
      reason: 'client_not_allowed',
      status: 401,
    },
    {
      name: 'required claim missing',
      claims: { scope: scope('reader'), tid: undefined },
      reason: 'claim_missing',
      status: 401,
    },
    {
      name: 'required claim wrong',
      claims: { scope: scope('reader'), tid: 'tenant-2' },
      reason: 'claim_missing',
      status: 401,
    },
    {
      name: 'required claim in array',
      claims: { scope: scope('reader'), tid: ['x', 'tenant-1'] },
      reason: 'allowed',
      status: 200,
    },
    { name: 'no scope claim', claims: {}, reason: 'scope_missing', status: 403 },
    {
      name: 'scope of other org',
      claims: { scope: 'demo::7654321::reader' },
      reason: 'scope_missing',
      status: 403,
    },
    {
      name: 'scope of other cloud',
      claims: { scope: 'other::1234567::reader' },
      reason: 'scope_missing',
      status: 403,
    },
    { name: 'undefined role', claims: { scope: scope('auditor') }, reason: 'role_unknown', status: 403 },
    {
      name: 'unknown issuer',
      claims: { scope: scope('reader'), iss: 'https://evil.example.com' },
      reason: 'issuer_unknown',
      status: 401,
    },
    {
      name: 'issuer with trailing slash',
      claims: { scope: scope('reader'), iss: `${ISSUER}/` },
      reason: 'issuer_unknown',
      status: 401,
    },
    {
      name: 'no issuer',
      claims: { scope: scope('reader'), iss: undefined },
      reason: 'issuer_unknown',
      status: 401,
    },
    {
      name: 'invalid path',
      claims: { scope: scope('admin') },
      url: '/v1/../admin',
      reason: 'request_invalid',
      status: 400,
    },
  ];
  it.each(cases)('$name → $reason', async ({ claims, method, url, reason, status }) => {
    const token = await mint(key, { ...good, ...claims });
    const decision = await decide(compiled, request(token, method, url), NOW);
    expect(decision.reason).toBe(reason);
    expect(decision.status).toBe(status);
    expect(decision.allow).toBe(reason === 'allowed');
    expect(JSON.stringify(decision)).not.toContain(token);
    expect(JSON.stringify(decision)).not.toContain(token.split('.')[2]);
  });

  it('no Authorization header → token_missing', async () => {
    const decision = await decide(compiled, request(undefined), NOW);
    expect(decision).toMatchObject({ reason: 'token_missing', status: 401, allow: false });
  });

  it('no config → config_missing, 503, never allow', async () => {
    const decision = await decide(undefined, request('x'), NOW);
    expect(decision).toMatchObject({ reason: 'config_missing', status: 503, allow: false });
  });

  it('disabled server → server_disabled', async () => {
    const disabled = await compiledFor([
      { resource: authorizationServer('idp', { enabled: false }), keys: [key.jwk] },
    ]);
    const decision = await decide(disabled, request(await mint(key, { scope: scope('admin') })), NOW);
    expect(decision.reason).toBe('server_disabled');
  });

  it('every reason code has a status and a message', () => {
    for (const code of REASON_CODES) {
      expect([200, 400, 401, 403, 503]).toContain(REASONS[code].status);
      expect(REASONS[code].message.length).toBeGreaterThan(5);
    }
  });
});

describe('decide: the allowed decision', () => {
  it('names the principal, the matching role and permission, and the steps', async () => {
    const token = await mint(key, { ...good, scope: `openid ${scope('reader')} ${scope('auditor')}` });
    const decision = await decide(compiled, request(token, 'GET', '/v1/items/42?expand=1'), NOW);
    expect(decision).toMatchObject({
      allow: true,
      status: 200,
      path: '/v1/items/42',
      search: '?expand=1',
      matched: { role: 'reader', permission: 'read-v1' },
      principal: {
        issuer: ISSUER,
        server: 'idp',
        clientId: 'client-a',
        roles: ['reader'],
        adminIds: ['oauth-reader$@1234567.demo.example'],
        expiresAt: NOW_S + 3600,
      },
    });
    expect(decision.steps.map((s) => [s.step, s.ok])).toEqual([
      ['request', true],
      ['token', true],
      ['issuer', true],
      ['signature', true],
      ['claims', true],
      ['scope', true],
      ['permission', true],
    ]);
  });

  it('unions the grants of every role the token carries', async () => {
    const token = await mint(key, { ...good, scope: [scope('reader'), scope('writer')] });
    expect((await decide(compiled, request(token, 'GET', '/v1/items/1'), NOW)).allow).toBe(true);
    expect((await decide(compiled, request(token, 'PUT', '/v1/items/1'), NOW)).allow).toBe(true);
    expect((await decide(compiled, request(token, 'PUT', '/v1/other'), NOW)).allow).toBe(false);
  });

  it('lets a None of one role deny what another role grants', async () => {
    const token = await mint(key, { ...good, scope: [scope('admin'), scope('reader')] });
    const decision = await decide(compiled, request(token, 'GET', '/v1/admin/x'), NOW);
    expect(decision).toMatchObject({
      reason: 'permission_denied',
      matched: { role: 'reader', permission: 'no-admin' },
    });
  });

  it('authorizes request.method only, and never a method outside the standard set', async () => {
    const token = await mint(key, { ...good, scope: scope('admin') });
    for (const method of ['TRACE', 'CONNECT', 'PROPFIND', 'get', 'PURGE']) {
      expect((await decide(compiled, request(token, method, '/v1/items'), NOW)).reason).toBe(
        'permission_denied',
      );
    }
  });

  it('explains considered permissions on request', async () => {
    const token = await mint(key, { ...good, scope: scope('reader') });
    const decision = await decide(compiled, request(token, 'POST', '/v1/items'), NOW, undefined, {
      explain: true,
    });
    expect(decision.considered).toEqual([
      expect.objectContaining({
        role: 'reader',
        permission: 'read-v1',
        matchedPattern: '/v1/**',
        coversMethod: false,
      }),
      expect.objectContaining({ role: 'reader', permission: 'no-admin', coversMethod: false }),
    ]);
    expect(decision.considered?.[1]?.matchedPattern).toBeUndefined();
  });
});

describe('decide: servers sharing an issuer', () => {
  it('accepts a token that verifies with any enabled one of them', async () => {
    const other = await makeKey('k2');
    const both = await compileConfig(
      (
        await compiledFor([
          { resource: authorizationServer('a'), keys: [key.jwk] },
          { resource: authorizationServer('b'), keys: [other.jwk] },
        ])
      ).config,
    );
    const decision = await decide(both, request(await mint(other, { scope: scope('admin') })), NOW);
    expect(decision).toMatchObject({ allow: true, principal: { server: 'b' } });
  });

  it('reports the failure that got furthest', async () => {
    const other = await makeKey('k2');
    const both = await compiledFor([
      { resource: authorizationServer('a'), keys: [key.jwk] },
      { resource: authorizationServer('b', { audiences: ['https://only-b'] }), keys: [other.jwk] },
    ]);
    const decision = await decide(both, request(await mint(other, { scope: scope('admin') })), NOW);
    expect(decision.reason).toBe('audience_mismatch');
    expect(decision.unknownKid).toBeUndefined();
  });
});
