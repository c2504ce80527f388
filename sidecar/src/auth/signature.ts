/**
 * JWS signature verification with node:crypto and a KeyObject (about a third of the CPU of jose's
 * WebCrypto path). Each algorithm has exactly one set of parameters, and the key must be of the
 * algorithm's family (and curve): RS* PKCS#1 v1.5, PS* PSS with the salt length of the hash, ES*
 * with fixed-length IEEE P1363 signatures, EdDSA over Ed25519 only. RSA keys under 2048 bits are
 * refused, as jose does. Anything unexpected is a failure (fail closed).
 */
import { constants, verify, type KeyObject } from 'node:crypto';

interface AlgorithmSpec {
  keyType: 'rsa' | 'ec' | 'ed25519';
  /** Digest for crypto.verify; null for EdDSA, which hashes internally. */
  hash: 'sha256' | 'sha384' | 'sha512' | null;
  /** PSS only: the salt length, equal to the hash length (RFC 7518 §3.5). */
  saltLength?: number;
  /** ES* only: the OpenSSL name of the curve and the exact signature length (r || s). */
  curve?: string;
  signatureLength?: number;
}

const SPECS: Readonly<Record<string, AlgorithmSpec>> = {
  RS256: { keyType: 'rsa', hash: 'sha256' },
  RS384: { keyType: 'rsa', hash: 'sha384' },
  RS512: { keyType: 'rsa', hash: 'sha512' },
  PS256: { keyType: 'rsa', hash: 'sha256', saltLength: 32 },
  PS384: { keyType: 'rsa', hash: 'sha384', saltLength: 48 },
  PS512: { keyType: 'rsa', hash: 'sha512', saltLength: 64 },
  ES256: { keyType: 'ec', hash: 'sha256', curve: 'prime256v1', signatureLength: 64 },
  ES384: { keyType: 'ec', hash: 'sha384', curve: 'secp384r1', signatureLength: 96 },
  ES512: { keyType: 'ec', hash: 'sha512', curve: 'secp521r1', signatureLength: 132 },
  EdDSA: { keyType: 'ed25519', hash: null },
};

export const MIN_RSA_BITS = 2048;

export type SignatureCheck = { ok: true } | { ok: false; detail: string };

const DOES_NOT_VERIFY: SignatureCheck = { ok: false, detail: 'the signature does not verify' };

/** Why `key` can never verify `alg`, or undefined when it fits. */
export function keyMismatch(alg: string, key: KeyObject): string | undefined {
  const spec = Object.hasOwn(SPECS, alg) ? SPECS[alg] : undefined;
  if (spec === undefined) return `alg ${alg} is not supported`;
  if (key.type !== 'public') return 'the key is not a public key';
  if (key.asymmetricKeyType !== spec.keyType)
    return `a ${key.asymmetricKeyType ?? 'unknown'} key cannot verify ${alg}`;
  const details = key.asymmetricKeyDetails;
  if (spec.keyType === 'rsa') {
    const bits = details?.modulusLength;
    if (bits === undefined || bits < MIN_RSA_BITS)
      return `${alg} needs an RSA key of at least ${MIN_RSA_BITS} bits`;
  }
  if (spec.curve !== undefined && details?.namedCurve !== spec.curve) {
    return `a key on ${details?.namedCurve ?? 'an unknown curve'} cannot verify ${alg}`;
  }
  return undefined;
}

/**
 * Verifies `signature` over `signingInput` (the ASCII `header.payload` of a compact JWS) with `key`
 * for `alg`. Never throws.
 */
export function verifySignature(
  alg: string,
  key: KeyObject,
  signingInput: Uint8Array,
  signature: Uint8Array,
): SignatureCheck {
  const mismatch = keyMismatch(alg, key);
  if (mismatch !== undefined) return { ok: false, detail: `the signature could not be checked: ${mismatch}` };
  const spec = SPECS[alg] as AlgorithmSpec;
  if (spec.signatureLength !== undefined && signature.length !== spec.signatureLength) return DOES_NOT_VERIFY;
  try {
    const verified =
      spec.saltLength !== undefined
        ? verify(
            spec.hash,
            signingInput,
            { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.saltLength },
            signature,
          )
        : spec.keyType === 'ec'
          ? verify(spec.hash, signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature)
          : spec.keyType === 'rsa'
            ? verify(spec.hash, signingInput, { key, padding: constants.RSA_PKCS1_PADDING }, signature)
            : verify(null, signingInput, key, signature);
    return verified ? { ok: true } : DOES_NOT_VERIFY;
  } catch {
    return { ok: false, detail: 'the signature could not be checked' };
  }
}
