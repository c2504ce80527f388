import { describe, expect, it } from 'vitest';
import { parseJwksDocument } from '../../../sidecar/src/standalone/jwks-fetch.js';

const rsa = { kty: 'RSA', kid: 'k1', n: 'AQAB', e: 'AQAB' };

describe('parseJwksDocument', () => {
  it('keeps public signing keys and skips encryption and unknown key types', () => {
    const result = parseJwksDocument({
      keys: [rsa, { ...rsa, kid: 'enc', use: 'enc' }, { kty: 'oct2', kid: 'x' }],
    });
    expect(result).toEqual({ ok: true, keys: [rsa], ignored: 2 });
  });

  it('refuses a set with private or symmetric members', () => {
    expect(parseJwksDocument({ keys: [{ ...rsa, d: 'secret' }] }).ok).toBe(false);
    expect(parseJwksDocument({ keys: [{ kty: 'oct', k: 'secret' }] }).ok).toBe(false);
  });

  it('refuses documents that are not a usable JWKS', () => {
    expect(parseJwksDocument(null).ok).toBe(false);
    expect(parseJwksDocument({ keys: 'x' }).ok).toBe(false);
    expect(parseJwksDocument({ keys: [] }).ok).toBe(false);
    expect(parseJwksDocument({ keys: Array.from({ length: 65 }, () => rsa) }).ok).toBe(false);
  });
});
