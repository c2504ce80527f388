import { beforeAll, describe, expect, it } from 'vitest';
import { decide, type CompiledConfig } from '../../../../sidecar/src/pipeline/decide.js';
import { TokenCache, type VerifiedIdentity } from '../../../../sidecar/src/pipeline/token-cache.js';
import {
  authorizationServer,
  compiledFor,
  makeKey,
  mint,
  NOW,
  NOW_S,
  request,
  scope,
  type TestKey,
} from '../builders.js';

const identity = (expiresAt: number): VerifiedIdentity => ({
  server: 's',
  issuer: 'i',
  key: { alg: 'RS256' },
  scopeValues: [],
  expiresAt,
});

describe('TokenCache', () => {
  it('holds entries until exp, then forgets them', () => {
    const cache = new TokenCache({ maxEntries: 10 });
    const owner = {};
    cache.set(owner, 'token-a', identity(NOW_S + 10), NOW);
    expect(cache.get(owner, 'token-a', NOW)).toMatchObject({ server: 's' });
    expect(cache.get(owner, 'token-a', new Date((NOW_S + 10) * 1000))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('never stores an already expired token', () => {
    const cache = new TokenCache({ maxEntries: 10 });
    cache.set({}, 't', identity(NOW_S), NOW);
    expect(cache.size).toBe(0);
  });

  it('is emptied by a new compiled config', () => {
    const cache = new TokenCache({ maxEntries: 10 });
    const first = {};
    cache.set(first, 't', identity(NOW_S + 60), NOW);
    expect(cache.get({}, 't', NOW)).toBeUndefined();
    expect(cache.get(first, 't', NOW)).toBeUndefined();
  });

  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = new TokenCache({ maxEntries: 2 });
    const owner = {};
    cache.set(owner, 'a', identity(NOW_S + 60), NOW);
    cache.set(owner, 'b', identity(NOW_S + 60), NOW);
    cache.get(owner, 'a', NOW);
    cache.set(owner, 'c', identity(NOW_S + 60), NOW);
    expect(cache.get(owner, 'b', NOW)).toBeUndefined();
    expect(cache.get(owner, 'a', NOW)).toBeDefined();
    expect(cache.get(owner, 'c', NOW)).toBeDefined();
  });

  it('tells tokens apart exactly, and refuses a nonsensical size', () => {
    const cache = new TokenCache({ maxEntries: 2 });
    const owner = {};
    cache.set(owner, 'token', identity(NOW_S + 60), NOW);
    expect(cache.get(owner, 'token ', NOW)).toBeUndefined();
    expect(cache.get(owner, 'Token', NOW)).toBeUndefined();
    expect(() => new TokenCache({ maxEntries: -1 })).toThrow(TypeError);
    expect(() => new TokenCache({ maxEntries: 1.5 })).toThrow(TypeError);
  });

  it('a maxEntries of 0 disables caching', () => {
    const cache = new TokenCache({ maxEntries: 0 });
    cache.set({}, 't', identity(NOW_S + 60), NOW);
    expect(cache.size).toBe(0);
  });
});

describe('decide with a TokenCache', () => {
  let key: TestKey;
  let compiled: CompiledConfig;
  beforeAll(async () => {
    key = await makeKey('k1');
    compiled = await compiledFor([{ resource: authorizationServer('idp'), keys: [key.jwk] }]);
  });

  it('verifies a token once, then reuses the verified identity', async () => {
    const cache = new TokenCache({ maxEntries: 10 });
    const token = await mint(key, { scope: scope('reader') });
    const first = await decide(compiled, request(token), NOW, cache);
    const second = await decide(compiled, request(token, 'POST'), NOW, cache);
    expect(first.reason).toBe('allowed');
    expect(second.reason).toBe('permission_denied');
    expect(second.steps.find((s) => s.step === 'signature')?.detail).toMatch(/cached/);
    expect(second.principal).toEqual(first.principal);
    expect(cache.size).toBe(1);
  });

  it('does not serve a cached token after its exp', async () => {
    const cache = new TokenCache({ maxEntries: 10 });
    const token = await mint(key, { scope: scope('reader'), exp: NOW_S + 30 });
    expect((await decide(compiled, request(token), NOW, cache)).reason).toBe('allowed');
    const later = new Date((NOW_S + 120) * 1000);
    expect((await decide(compiled, request(token), later, cache)).reason).toBe('token_expired');
  });

  it('re-verifies under a new config, where the key may be gone', async () => {
    const cache = new TokenCache({ maxEntries: 10 });
    const token = await mint(key, { scope: scope('reader') });
    expect((await decide(compiled, request(token), NOW, cache)).reason).toBe('allowed');
    const rotated = await compiledFor([
      { resource: authorizationServer('idp'), keys: [(await makeKey('k2')).jwk] },
    ]);
    expect((await decide(rotated, request(token), NOW, cache)).reason).toBe('key_unknown');
  });

  it('does not cache failures', async () => {
    const cache = new TokenCache({ maxEntries: 10 });
    const token = await mint(key, { scope: scope('reader'), iss: 'https://nope' });
    await decide(compiled, request(token), NOW, cache);
    expect(cache.size).toBe(0);
  });

  it('still checks scope and permission on a cache hit', async () => {
    const cache = new TokenCache({ maxEntries: 10 });
    const token = await mint(key, { scope: scope('reader') });
    await decide(compiled, request(token), NOW, cache);
    const denied = await decide(compiled, request(token, 'GET', '/v1/admin/x'), NOW, cache);
    expect(denied.reason).toBe('permission_denied');
  });
});
