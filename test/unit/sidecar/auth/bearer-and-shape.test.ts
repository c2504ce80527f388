import { describe, expect, it } from 'vitest';
import { extractBearerToken } from '../../../../sidecar/src/auth/bearer.js';
import { failedRequiredClaim, readClientId } from '../../../../sidecar/src/auth/claims.js';
import { inspectToken, MAX_TOKEN_LENGTH } from '../../../../sidecar/src/auth/token-shape.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jwt = (header: unknown, claims: unknown = {}) => `${b64(header)}.${b64(claims)}.c2ln`;

describe('extractBearerToken', () => {
  it.each([
    ['Bearer abc.def.ghi', 'abc.def.ghi'],
    ['bearer abc', 'abc'],
    ['BeArEr a-b_c~d+e/f==', 'a-b_c~d+e/f=='],
  ])('%j → %j', (header, token) => {
    expect(extractBearerToken(header)).toEqual({ ok: true, token });
  });

  it.each([
    [undefined, 'token_missing'],
    ['', 'token_missing'],
    [[], 'token_missing'],
    [['Bearer a', 'Bearer b'], 'request_invalid'],
    [['Bearer a', 'Bearer a'], 'request_invalid'],
    ['Bearer', 'token_malformed'],
    ['Bearer ', 'token_malformed'],
    ['Bearer  a', 'token_malformed'],
    ['Bearer a b', 'token_malformed'],
    ['Bearer a=b', 'token_malformed'],
    ['Bearer a,b', 'token_malformed'],
    ['Bearer "a"', 'token_malformed'],
    ['Bearer a\u0000', 'token_malformed'],
    ['Bearerabc', 'token_malformed'],
    ['Basic dXNlcjpwYXNz', 'token_malformed'],
    ['DPoP abc', 'token_malformed'],
    [`Bearer ${'a'.repeat(MAX_TOKEN_LENGTH + 1)}`, 'token_malformed'],
  ] as const)('%j → %s', (header, reason) => {
    const result = extractBearerToken(header as string | string[] | undefined);
    expect(result.ok ? 'ok' : result.reason).toBe(reason);
  });
});

describe('inspectToken', () => {
  it('reads the header and claims of a compact JWS', () => {
    expect(inspectToken(jwt({ alg: 'RS256', kid: 'k' }, { iss: 'x' }))).toEqual({
      ok: true,
      token: { header: { alg: 'RS256', kid: 'k' }, claims: { iss: 'x' } },
    });
  });

  it.each([
    ['two parts', 'a.b', /three parts/],
    ['four parts', 'a.b.c.d', /three parts/],
    ['JWE', 'a.b.c.d.e', /JWE/],
    ['empty signature', `${b64({ alg: 'none' })}.${b64({})}.`, /empty or not base64url/],
    ['padding', `${b64({ alg: 'RS256' })}=.${b64({})}.c2ln`, /not base64url/],
    ['impossible length', `${b64({ alg: 'RS256' })}.${b64({})}.a`, /not base64url/],
    ['header not JSON', `bm90anNvbg.${b64({})}.c2ln`, /header is not a JSON object/],
    ['header an array', jwt(['RS256']), /header is not a JSON object/],
    ['claims a string', `${b64({ alg: 'RS256' })}.${b64('x')}.c2ln`, /payload is not a JSON object/],
    ['claims null', `${b64({ alg: 'RS256' })}.${b64(null)}.c2ln`, /payload is not a JSON object/],
    ['no alg', jwt({ kid: 'k' }), /no alg/],
    ['alg not a string', jwt({ alg: 1 }), /no alg/],
    ['crit', jwt({ alg: 'RS256', crit: ['exp'] }), /crit/],
    ['b64', jwt({ alg: 'RS256', b64: false }), /b64/],
    ['kid not a string', jwt({ alg: 'RS256', kid: { a: 1 } }), /kid/],
    ['config bundle', jwt({ alg: 'ES256', typ: 'scopegate-config+jws' }), /config bundle/],
    ['oversized', jwt({ alg: 'RS256' }, { pad: 'x'.repeat(MAX_TOKEN_LENGTH) }), /longer than/],
  ])('refuses %s', (_name, token, why) => {
    const result = inspectToken(token);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.detail).toMatch(why);
  });
});

describe('claims', () => {
  it('reads the first client ID claim that holds a non-empty string', () => {
    expect(readClientId({ appid: '', azp: 'b' }, ['appid', 'azp'])).toBe('b');
    expect(readClientId({ appid: 7, azp: ['b'] }, ['appid', 'azp'])).toBeUndefined();
    expect(readClientId({}, ['constructor'])).toBeUndefined();
  });

  it('checks required claims as strings or arrays of strings', () => {
    const required = { tid: ['t1'], groups: ['g1', 'g2'] };
    expect(failedRequiredClaim({ tid: 't1', groups: ['x', 'g2'] }, required)).toBeUndefined();
    expect(failedRequiredClaim({ groups: ['g1'] }, required)).toEqual({ claim: 'tid', missing: true });
    expect(failedRequiredClaim({ tid: 't2', groups: ['g1'] }, required)).toEqual({
      claim: 'tid',
      missing: false,
    });
    expect(failedRequiredClaim({ tid: ['t1'], groups: 'g1 g2' }, required)).toEqual({
      claim: 'groups',
      missing: false,
    });
    expect(failedRequiredClaim({ tid: 1, groups: ['g1'] }, { tid: ['1'], groups: ['g1'] })).toEqual({
      claim: 'tid',
      missing: false,
    });
    expect(failedRequiredClaim({}, { toString: ['x'] })).toEqual({ claim: 'toString', missing: true });
  });
});
