import { describe, expect, it } from 'vitest';
import { screenJwks } from '../../../operator/src/jwks/screen.js';

const rsa = { kty: 'RSA', kid: 'r1', n: 'abc', e: 'AQAB', use: 'sig', alg: 'RS256' };
const ec = { kty: 'EC', kid: 'e1', crv: 'P-256', x: 'x', y: 'y' };

describe('screenJwks', () => {
  it('keeps complete public signing keys, members whitelisted', () => {
    const r = screenJwks({ keys: [{ ...rsa, x5c: ['MII...'], key_ops: ['verify'] }, ec] });
    expect(r).toEqual({ ok: true, keys: [rsa, ec], dropped: [] });
  });

  it.each([
    ['not a key set', { foo: 1 }, 'InvalidKeySet'],
    ['a private RSA key', { keys: [rsa, { ...rsa, kid: 'r2', d: 'secret' }] }, 'PrivateKeyInKeySet'],
    ['a private EC key', { keys: [{ ...ec, d: 'secret' }] }, 'PrivateKeyInKeySet'],
    ['only an HMAC key', { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, 'NoUsableKeys'],
    ['only encryption keys', { keys: [{ ...rsa, use: 'enc' }] }, 'NoUsableKeys'],
    ['an incomplete key', { keys: [{ kty: 'RSA', kid: 'x', n: 'abc' }] }, 'NoUsableKeys'],
    ['an unknown curve', { keys: [{ ...ec, crv: 'secp256k1' }] }, 'NoUsableKeys'],
    [
      'too many keys',
      { keys: Array.from({ length: 33 }, (_, i) => ({ ...rsa, kid: `k${i}` })) },
      'InvalidKeySet',
    ],
  ])('refuses %s', (_name, body, reason) => {
    const r = screenJwks(body);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it('drops HMAC keys next to good ones and says so', () => {
    const r = screenJwks({ keys: [rsa, { kty: 'oct', kid: 'h', k: 'c2VjcmV0' }] });
    expect(r.ok && r.keys).toEqual([rsa]);
    expect(r.ok && r.dropped).toEqual(["kid 'h' is a symmetric (oct) key"]);
  });

  it('never echoes private material in its message', () => {
    const r = screenJwks({ keys: [{ ...rsa, d: 'TOPSECRET' }] });
    expect(JSON.stringify(r)).not.toContain('TOPSECRET');
  });
});
