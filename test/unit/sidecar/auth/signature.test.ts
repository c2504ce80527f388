import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  sign,
  type KeyObject,
  type SignKeyObjectInput,
} from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyMismatch, verifySignature } from '../../../../sidecar/src/auth/signature.js';

type Alg = 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const ed25519 = generateKeyPairSync('ed25519');

/** The public key as the sidecar holds it: imported from its JWK. */
const fromJwk = (key: KeyObject): KeyObject =>
  createPublicKey({ key: key.export({ format: 'jwk' }), format: 'jwk' });

const PAIRS: Record<Alg, { privateKey: KeyObject; publicKey: KeyObject }> = {
  RS256: rsa,
  RS384: rsa,
  RS512: rsa,
  PS256: rsa,
  PS384: rsa,
  PS512: rsa,
  ES256: p256,
  ES384: p384,
  ES512: p521,
  EdDSA: ed25519,
};
const HASH = { 256: 'sha256', 384: 'sha384', 512: 'sha512' } as const;

function signFor(alg: Alg, data: Buffer, privateKey: KeyObject = PAIRS[alg].privateKey): Buffer {
  if (alg === 'EdDSA') return sign(null, data, privateKey);
  const bits = Number(alg.slice(2)) as 256 | 384 | 512;
  const hash = HASH[bits];
  const options: SignKeyObjectInput = alg.startsWith('RS')
    ? { key: privateKey, padding: constants.RSA_PKCS1_PADDING }
    : alg.startsWith('PS')
      ? { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 }
      : { key: privateKey, dsaEncoding: 'ieee-p1363' };
  return sign(hash, data, options);
}

const ALGS = Object.keys(PAIRS) as Alg[];
const DATA = Buffer.from('eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0', 'ascii');
const PUBLIC: Record<Alg, KeyObject> = Object.fromEntries(
  ALGS.map((alg) => [alg, fromJwk(PAIRS[alg].publicKey)]),
) as Record<Alg, KeyObject>;

describe('verifySignature', () => {
  it.each(ALGS)('%s accepts a valid signature and refuses a flipped bit or other data', (alg) => {
    const signature = signFor(alg, DATA);
    expect(verifySignature(alg, PUBLIC[alg], DATA, signature)).toEqual({ ok: true });
    const flipped = Buffer.from(signature);
    flipped[flipped.length >> 1]! ^= 0x01;
    expect(verifySignature(alg, PUBLIC[alg], DATA, flipped)).toMatchObject({ ok: false });
    const otherData = Buffer.concat([DATA, Buffer.from('x')]);
    expect(verifySignature(alg, PUBLIC[alg], otherData, signature)).toMatchObject({ ok: false });
  });

  it('refuses a key of another family than the algorithm, even with a signature that key made', () => {
    // An RSA key under ES256, whatever the signature.
    expect(verifySignature('ES256', PUBLIC.RS256, DATA, signFor('ES256', DATA))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/could not be checked: a rsa key cannot verify ES256/),
    });
    // RSA-signed bytes presented as ES, EC-signed bytes as RS, Ed25519 as ES256.
    expect(verifySignature('ES256', PUBLIC.RS256, DATA, signFor('RS256', DATA))).toMatchObject({ ok: false });
    expect(verifySignature('RS256', PUBLIC.ES256, DATA, signFor('ES256', DATA))).toMatchObject({ ok: false });
    expect(verifySignature('PS256', PUBLIC.ES256, DATA, signFor('ES256', DATA))).toMatchObject({ ok: false });
    expect(verifySignature('ES256', PUBLIC.EdDSA, DATA, signFor('EdDSA', DATA))).toMatchObject({ ok: false });
    expect(verifySignature('EdDSA', PUBLIC.ES256, DATA, signFor('ES256', DATA))).toMatchObject({ ok: false });
    expect(verifySignature('EdDSA', PUBLIC.RS256, DATA, signFor('RS256', DATA))).toMatchObject({ ok: false });
  });

  it('refuses a key on another curve than the algorithm names (P-384 for ES256, P-256 for ES384)', () => {
    // A P-384 signature over SHA-256, P1363-encoded (96 bytes), with the matching P-384 key.
    const p384Sha256 = sign('sha256', DATA, { key: p384.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(verifySignature('ES256', PUBLIC.ES384, DATA, p384Sha256)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/a key on secp384r1 cannot verify ES256/),
    });
    expect(verifySignature('ES384', PUBLIC.ES256, DATA, signFor('ES256', DATA))).toMatchObject({ ok: false });
    expect(verifySignature('ES512', PUBLIC.ES384, DATA, signFor('ES384', DATA))).toMatchObject({ ok: false });
    expect(keyMismatch('ES256', PUBLIC.ES256)).toBeUndefined();
    expect(keyMismatch('ES512', PUBLIC.ES512)).toBeUndefined();
  });

  it.each([
    ['ES256', 64],
    ['ES384', 96],
    ['ES512', 132],
  ] as const)('%s takes exactly %i-byte signatures: none shorter, longer or DER-encoded', (alg, length) => {
    const signature = signFor(alg, DATA);
    expect(signature.length).toBe(length);
    const der = sign(HASH[Number(alg.slice(2)) as 256 | 384 | 512], DATA, PAIRS[alg].privateKey);
    for (const wrong of [
      signature.subarray(0, length - 1),
      Buffer.concat([signature, Buffer.alloc(1)]),
      Buffer.concat([Buffer.alloc(1), signature]),
      der,
      Buffer.alloc(0),
    ]) {
      expect(verifySignature(alg, PUBLIC[alg], DATA, wrong)).toEqual({
        ok: false,
        detail: 'the signature does not verify',
      });
    }
  });

  it('PS* take only the salt length of their hash; RS and PS signatures are not interchangeable', () => {
    for (const saltLength of [0, 20, 64]) {
      const pss = sign('sha256', DATA, {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength,
      });
      expect(verifySignature('PS256', PUBLIC.PS256, DATA, pss)).toMatchObject({ ok: false });
    }
    const salt32 = sign('sha256', DATA, {
      key: rsa.privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    expect(verifySignature('PS256', PUBLIC.PS256, DATA, salt32)).toEqual({ ok: true });
    expect(verifySignature('PS384', PUBLIC.PS384, DATA, salt32)).toMatchObject({ ok: false });
    expect(verifySignature('RS256', PUBLIC.RS256, DATA, salt32)).toMatchObject({ ok: false });
    expect(verifySignature('PS256', PUBLIC.PS256, DATA, signFor('RS256', DATA))).toMatchObject({ ok: false });
    expect(verifySignature('RS384', PUBLIC.RS384, DATA, signFor('RS256', DATA))).toMatchObject({ ok: false });
  });

  it('refuses RSA keys under 2048 bits, even with a good signature', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const signature = sign('sha256', DATA, small.privateKey);
    expect(verifySignature('RS256', fromJwk(small.publicKey), DATA, signature)).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/at least 2048 bits/),
    });
  });

  it('refuses Ed448 for EdDSA, private keys, and algorithms it does not know', () => {
    const ed448 = generateKeyPairSync('ed448');
    expect(verifySignature('EdDSA', ed448.publicKey, DATA, sign(null, DATA, ed448.privateKey))).toMatchObject(
      {
        ok: false,
      },
    );
    expect(verifySignature('RS256', rsa.privateKey, DATA, signFor('RS256', DATA))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/not a public key/),
    });
    for (const alg of ['HS256', 'none', 'ES256K', 'Ed25519', '__proto__', 'constructor']) {
      expect(verifySignature(alg, PUBLIC.RS256, DATA, signFor('RS256', DATA))).toMatchObject({ ok: false });
    }
  });

  it.each(ALGS)('%s refuses a random byte flip anywhere in the signature', (alg) => {
    const signature = signFor(alg, DATA);
    fc.assert(
      fc.property(fc.nat({ max: signature.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        const tampered = Buffer.from(signature);
        tampered[index]! ^= mask;
        return !verifySignature(alg, PUBLIC[alg], DATA, tampered).ok;
      }),
      { numRuns: 150 },
    );
  });
});
