/** Hostile tokens and requests at the `decide` level: every one must be refused with the right reason. */
import { createHmac, KeyObject, sign } from 'node:crypto';
import { exportSPKI } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_BUNDLE_TYP } from '../../../../sidecar/src/config/contract.js';
import { compileConfig, decide, type CompiledConfig } from '../../../../sidecar/src/pipeline/decide.js';
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

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  exp: NOW_S + 3600,
  scope: scope('admin'),
  ...extra,
});

/** Signs with node:crypto directly, so headers jose would refuse to produce can be tested. */
function signRaw(header: Record<string, unknown>, payload: Record<string, unknown>, key: TestKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), KeyObject.from(key.privateKey));
  return `${input}.${signature.toString('base64url')}`;
}

let victim: TestKey;
let attacker: TestKey;
let otherServerKey: TestKey;
let compiled: CompiledConfig;

beforeAll(async () => {
  [victim, attacker, otherServerKey] = await Promise.all([makeKey('k1'), makeKey('k1'), makeKey('other-k')]);
  compiled = await compiledFor([
    { resource: authorizationServer('idp'), keys: [victim.jwk] },
    {
      resource: authorizationServer('other', { issuer: 'https://other.example.com' }),
      keys: [otherServerKey.jwk],
    },
  ]);
});

async function reasonFor(token: string, method = 'GET', url = '/v1/items'): Promise<string> {
  const decision = await decide(compiled, request(token, method, url), NOW);
  expect(decision.allow).toBe(false);
  return decision.reason;
}

describe('hostile tokens', () => {
  it('control: a well-formed admin token is allowed', async () => {
    expect((await decide(compiled, request(await mint(victim, { scope: scope('admin') })), NOW)).allow).toBe(
      true,
    );
  });

  it('alg none without a signature is malformed', async () => {
    expect(await reasonFor(`${b64({ alg: 'none' })}.${b64(claims())}.`)).toBe('token_malformed');
  });

  it('alg none (any spelling) with a bogus signature is not allowed', async () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      expect(await reasonFor(`${b64({ alg, kid: 'k1' })}.${b64(claims())}.AAAA`)).toBe(
        'algorithm_not_allowed',
      );
    }
  });

  it('HS256 signed with the RSA public key as the HMAC secret is not allowed', async () => {
    const pem = await exportSPKI(victim.publicKey);
    for (const secret of [pem, Buffer.from(JSON.stringify(victim.jwk))]) {
      const input = `${b64({ alg: 'HS256', kid: 'k1', typ: 'JWT' })}.${b64(claims())}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expect(await reasonFor(token)).toBe('algorithm_not_allowed');
    }
  });

  it('HS256 is refused even if a config somehow allowed it', async () => {
    const config = structuredClone(compiled.config);
    (config.authorizationServers[0]!.allowedAlgorithms as string[]) = ['HS256', 'RS256'];
    const tampered = await compileConfig(config);
    const input = `${b64({ alg: 'HS256', kid: 'k1' })}.${b64(claims())}`;
    const token = `${input}.${createHmac('sha256', await exportSPKI(victim.publicKey))
      .update(input)
      .digest('base64url')}`;
    expect((await decide(tampered, request(token), NOW)).reason).toBe('algorithm_not_allowed');
  });

  it('a stripped or truncated signature is refused', async () => {
    const [h, p, s] = (await mint(victim)).split('.') as [string, string, string];
    expect(await reasonFor(`${h}.${p}.`)).toBe('token_malformed');
    expect(await reasonFor(`${h}.${p}`)).toBe('token_malformed');
    expect(await reasonFor(`${h}.${p}.${s.slice(0, -8)}`)).toBe('signature_invalid');
  });

  it('a payload swapped under a valid signature is refused', async () => {
    const [h, , s] = (await mint(victim, { scope: scope('reader') })).split('.') as [string, string, string];
    expect(await reasonFor(`${h}.${b64(claims())}.${s}`)).toBe('signature_invalid');
  });

  it.each(['jwk', 'jku', 'x5u', 'x5c'])(
    'a %s header pointing at the attacker key is ignored',
    async (header) => {
      const value =
        header === 'jwk'
          ? attacker.jwk
          : header === 'x5c'
            ? ['MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA']
            : 'https://attacker.example.com/keys';
      const withVictimKid = await mint(attacker, { scope: scope('admin') }, { [header]: value });
      expect(await reasonFor(withVictimKid)).toBe('signature_invalid');
      const withoutKid = await mint(attacker, { scope: scope('admin') }, { [header]: value, kid: undefined });
      expect(await reasonFor(withoutKid)).toBe('signature_invalid');
      const withAttackerKid = await mint(
        attacker,
        { scope: scope('admin') },
        { [header]: value, kid: 'attacker' },
      );
      expect(await reasonFor(withAttackerKid)).toBe('key_unknown');
    },
  );

  it('a crit header is refused, known extension or not', async () => {
    for (const crit of [['exp'], ['b64'], ['urn:example:unknown']]) {
      const token = signRaw(
        { alg: 'RS256', kid: 'k1', crit, 'urn:example:unknown': true, b64: true },
        claims(),
        victim,
      );
      expect(await reasonFor(token)).toBe('token_malformed');
    }
  });

  it("another server's kid is unknown here, and asks for a refetch", async () => {
    const token = await mint(otherServerKey, { scope: scope('admin') });
    const decision = await decide(compiled, request(token), NOW);
    expect(decision).toMatchObject({ reason: 'key_unknown', unknownKid: { server: 'idp', kid: 'other-k' } });
  });

  it('path-traversal, empty and junk kids are unknown keys', async () => {
    for (const kid of ['../../../../etc/passwd', '', 'k1 ', 'K1', 'k1\u0000', '*', 'x'.repeat(300)]) {
      const decision = await decide(compiled, request(await mint(victim, {}, { kid })), NOW);
      expect(decision.reason).toBe('key_unknown');
    }
    // Junk kids never trigger a key refetch.
    for (const kid of ['k1\u0000', 'k1 ', '', 'x'.repeat(300)]) {
      expect(
        (await decide(compiled, request(await mint(victim, {}, { kid })), NOW)).unknownKid,
      ).toBeUndefined();
    }
  });

  it('a non-string kid is malformed', async () => {
    expect(await reasonFor(signRaw({ alg: 'RS256', kid: 1 }, claims(), victim))).toBe('token_malformed');
    expect(await reasonFor(signRaw({ alg: 'RS256', kid: ['k1'] }, claims(), victim))).toBe('token_malformed');
  });

  it('without a kid, the single key of the server is used; with two it is ambiguous', async () => {
    const noKid = await mint(victim, { scope: scope('admin') }, { kid: undefined });
    expect((await decide(compiled, request(noKid), NOW)).allow).toBe(true);
    const second = await makeKey('k2');
    const twoKeys = await compiledFor([
      { resource: authorizationServer('idp'), keys: [victim.jwk, second.jwk] },
    ]);
    const decision = await decide(twoKeys, request(noKid), NOW);
    expect(decision.reason).toBe('key_unknown');
    expect(decision.unknownKid).toBeUndefined();
  });

  it('a key used with an algorithm it is not for is refused', async () => {
    const both = await compiledFor([
      { resource: authorizationServer('idp', { allowedAlgorithms: ['RS256', 'ES256'] }), keys: [victim.jwk] },
    ]);
    const ec = await makeKey('k1', 'ES256');
    expect((await decide(both, request(await mint(ec, { scope: scope('admin') })), NOW)).reason).toBe(
      'signature_invalid',
    );
    // PS256 over an RS256-only server: refused before any key is touched.
    const ps = await makeKey('k1', 'PS256');
    expect(await reasonFor(await mint(ps, { scope: scope('admin') }))).toBe('algorithm_not_allowed');
  });

  it('refuses expired and not-yet-valid tokens beyond the skew', async () => {
    expect(await reasonFor(await mint(victim, { exp: NOW_S - 61 }))).toBe('token_expired');
    expect(await reasonFor(await mint(victim, { exp: 1 }))).toBe('token_expired');
    expect(await reasonFor(await mint(victim, { nbf: NOW_S + 61 }))).toBe('token_not_yet_valid');
    expect(await reasonFor(await mint(victim, { exp: 'never' as unknown as number }))).toBe(
      'token_malformed',
    );
  });

  it('refuses scopes of another cloud or org, and role case, suffix and spacing tricks', async () => {
    const cases: [unknown, string][] = [
      ['other::1234567::admin', 'scope_missing'],
      ['demo::7654321::admin', 'scope_missing'],
      ['DEMO::1234567::admin', 'scope_missing'],
      ['demo::01234567::admin', 'scope_missing'],
      ['xdemo::1234567::admin', 'scope_missing'],
      ['demo:::1234567::admin', 'scope_missing'],
      ['demo::1234567::admin::x', 'scope_missing'],
      ['demo::1234567::', 'scope_missing'],
      [['demo::1234567::admin '], 'scope_missing'],
      [['demo::1234567::ad min'], 'scope_missing'],
      ['demo::1234567::admin\t', 'scope_missing'],
      [42, 'scope_missing'],
      [{ admin: true }, 'scope_missing'],
      ['demo::1234567::Admin', 'role_unknown'],
      ['demo::1234567::ADMIN', 'role_unknown'],
      ['demo::1234567::admin2', 'role_unknown'],
      ['demo::1234567::admi', 'role_unknown'],
      ['demo::1234567::everything', 'role_unknown'],
    ];
    for (const [value, reason] of cases) {
      expect([value, await reasonFor(await mint(victim, { scope: value }))]).toEqual([value, reason]);
    }
  });

  it('does not read claims from the prototype chain', async () => {
    const token = signRaw(
      { alg: 'RS256', kid: 'k1' },
      JSON.parse(`{"iss":"${ISSUER}","exp":${NOW_S + 60},"__proto__":{"scope":"${scope('admin')}"}}`),
      victim,
    );
    expect(await reasonFor(token)).toBe('scope_missing');
  });

  it('refuses oversized and malformed tokens', async () => {
    expect(await reasonFor(await mint(victim, { pad: 'x'.repeat(9000) }))).toBe('token_malformed');
    const valid = await mint(victim);
    const [h, p, s] = valid.split('.') as [string, string, string];
    for (const token of [
      `${h}.${p}.${s}.${s}.${s}`,
      `${h}=.${p}.${s}`,
      `${Buffer.from('{"alg":"RS256"').toString('base64url')}.${p}.${s}`,
      `${b64(['alg'])}.${p}.${s}`,
      `${h}.${b64('a string')}.${s}`,
      `${h}.${Buffer.from([0xff, 0xfe]).toString('base64url')}.${s}`,
      `${b64({ kid: 'k1' })}.${p}.${s}`,
      'not-a-jwt',
    ]) {
      expect(await reasonFor(token)).toBe('token_malformed');
    }
  });

  it('refuses a config bundle presented as an access token', async () => {
    expect(await reasonFor(await mint(victim, {}, { typ: CONFIG_BUNDLE_TYP }))).toBe('token_malformed');
  });
});

describe('hostile Authorization headers', () => {
  it('refuses two Authorization headers with 400', async () => {
    const token = await mint(victim, { scope: scope('admin') });
    const decision = await decide(
      compiled,
      { method: 'GET', url: '/v1/items', authorization: [`Bearer ${token}`, `Bearer ${token}`] },
      NOW,
    );
    expect(decision).toMatchObject({ reason: 'request_invalid', status: 400 });
  });

  it('accepts a single-element array and a case-insensitive scheme', async () => {
    const token = await mint(victim, { scope: scope('admin') });
    for (const authorization of [[`Bearer ${token}`], `bearer ${token}`, `BEARER ${token}`]) {
      expect((await decide(compiled, { method: 'GET', url: '/v1/items', authorization }, NOW)).allow).toBe(
        true,
      );
    }
  });

  it('refuses other schemes and sloppy formatting', async () => {
    const token = await mint(victim, { scope: scope('admin') });
    for (const authorization of [
      `Bearer  ${token}`,
      `Bearer ${token} `,
      ` Bearer ${token}`,
      `Bearer\t${token}`,
      `Bearer ${token},Bearer ${token}`,
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      `Token ${token}`,
      `${token}`,
      'Bearer',
      'Bearer ',
    ]) {
      const decision = await decide(compiled, { method: 'GET', url: '/v1/items', authorization }, NOW);
      expect([authorization.slice(0, 12), decision.reason]).toEqual([
        authorization.slice(0, 12),
        'token_malformed',
      ]);
    }
    expect((await decide(compiled, { method: 'GET', url: '/', authorization: [] }, NOW)).reason).toBe(
      'token_missing',
    );
    expect((await decide(compiled, { method: 'GET', url: '/', authorization: '' }, NOW)).reason).toBe(
      'token_missing',
    );
  });
});

describe('paths aimed at a forbidden route', () => {
  // reader: ViewOnly on /v1/**, None on /v1/admin/**.
  const cases: [string, string][] = [
    ['/v1/admin/users', 'permission_denied'],
    ['/v1/admin', 'permission_denied'],
    ['/v1/admin/', 'permission_denied'],
    ['/v1//admin/users', 'permission_denied'],
    ['//v1/admin/users', 'permission_denied'],
    ['/v1/%61dmin/users', 'permission_denied'],
    ['/v1/%61%64%6D%69%6E', 'permission_denied'],
    ['/v1/admin/users?x=/v1/items', 'permission_denied'],
    ['/v1/items/../admin/users', 'request_invalid'],
    ['/v1/items/./../admin', 'request_invalid'],
    ['/v1/./admin/users', 'request_invalid'],
    ['/v1/%2e%2e/v1/admin/users', 'request_invalid'],
    ['/v1/items/%2E%2E/admin/users', 'request_invalid'],
    ['/v1/items/.%2e/admin', 'request_invalid'],
    ['/v1/admin%2Fusers', 'request_invalid'],
    ['/v1%2Fadmin/users', 'request_invalid'],
    ['/v1/items%2F..%2Fadmin', 'request_invalid'],
    ['/v1/items/%252e%252e/admin', 'request_invalid'],
    ['/v1/admin;x=1/users', 'request_invalid'],
    ['/v1/admin%3Bx/users', 'request_invalid'],
    ['/v1/items\\..\\admin', 'request_invalid'],
    ['/v1/items%5C..%5Cadmin', 'request_invalid'],
    ['/v1/admin%00/users', 'request_invalid'],
    ['/v1/admin\u0000', 'request_invalid'],
    ['/v1/%C0%AEadmin', 'request_invalid'],
    ['/v1/admin#x', 'request_invalid'],
    ['http://localhost/v1/admin', 'request_invalid'],
    ['*', 'request_invalid'],
  ];
  it.each(cases)('%s → %s', async (url, reason) => {
    const token = await mint(victim, { scope: scope('reader') });
    const decision = await decide(compiled, request(token, 'GET', url), NOW);
    expect(decision.allow).toBe(false);
    expect(decision.reason).toBe(reason);
  });

  it('still allows the legitimate neighbours', async () => {
    const token = await mint(victim, { scope: scope('reader') });
    for (const url of [
      '/v1/items',
      '/v1/items/',
      '/v1/administrators',
      '/v1/items/admin',
      '/v1/items/a..b',
      '/v1/items/%7E',
    ]) {
      expect([url, (await decide(compiled, request(token, 'GET', url), NOW)).reason]).toEqual([
        url,
        'allowed',
      ]);
    }
  });
});
