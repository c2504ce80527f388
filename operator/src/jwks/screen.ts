/**
 * Decides which keys of a fetched JWKS the sidecars may trust. A key set that publishes private key
 * material is refused whole: the identity provider is misconfigured and its keys are compromised.
 * Symmetric (`oct`) keys, encryption keys and unknown key types are dropped; HMAC is never accepted.
 */
import type { Jwk } from '../../../crds/src/index.js';

export const MAX_KEYS = 32;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const PUBLIC_MEMBERS = ['kty', 'kid', 'use', 'alg', 'n', 'e', 'crv', 'x', 'y'] as const;
const CURVES: Record<string, readonly string[]> = { EC: ['P-256', 'P-384', 'P-521'], OKP: ['Ed25519'] };

export type ScreenResult =
  | { ok: true; keys: Jwk[]; dropped: string[] }
  | { ok: false; reason: 'InvalidKeySet' | 'PrivateKeyInKeySet' | 'NoUsableKeys'; message: string };

const describe = (k: Record<string, unknown>, i: number) =>
  typeof k['kid'] === 'string' ? `kid '${k['kid']}'` : `key #${i}`;
const isText = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 4096;

export function screenJwks(body: unknown): ScreenResult {
  const keys = (body as { keys?: unknown } | null)?.keys;
  if (body === null || typeof body !== 'object' || !Array.isArray(keys)) {
    return {
      ok: false,
      reason: 'InvalidKeySet',
      message: 'the response is not a JSON Web Key Set (no "keys" array)',
    };
  }
  const accepted: Jwk[] = [];
  const dropped: string[] = [];
  for (const [i, raw] of keys.entries()) {
    if (raw === null || typeof raw !== 'object') {
      dropped.push(`key #${i} is not an object`);
      continue;
    }
    const key = raw as Record<string, unknown>;
    const privateMember = PRIVATE_MEMBERS.find((m) => m !== 'k' && key[m] !== undefined);
    if (privateMember !== undefined) {
      return {
        ok: false,
        reason: 'PrivateKeyInKeySet',
        message: `the key set publishes private key material (${describe(key, i)} has '${privateMember}'): refusing all of it; the identity provider must publish public keys only, and that key must be rotated`,
      };
    }
    const kty = key['kty'];
    if (kty === 'oct') {
      dropped.push(`${describe(key, i)} is a symmetric (oct) key`);
      continue;
    }
    if (key['use'] !== undefined && key['use'] !== 'sig') {
      dropped.push(`${describe(key, i)} is not a signing key (use '${String(key['use'])}')`);
      continue;
    }
    const complete =
      (kty === 'RSA' && isText(key['n']) && isText(key['e'])) ||
      (kty === 'EC' &&
        CURVES['EC']!.includes(key['crv'] as string) &&
        isText(key['x']) &&
        isText(key['y'])) ||
      (kty === 'OKP' && CURVES['OKP']!.includes(key['crv'] as string) && isText(key['x']));
    if (!complete) {
      dropped.push(`${describe(key, i)} is not a complete RSA, EC or Ed25519 public key`);
      continue;
    }
    const clean: Record<string, unknown> = {};
    for (const m of PUBLIC_MEMBERS) if (typeof key[m] === 'string') clean[m] = key[m];
    accepted.push(clean as Jwk);
  }
  if (accepted.length === 0) {
    const why = dropped.length > 0 ? `: ${dropped.join('; ')}` : '';
    return {
      ok: false,
      reason: 'NoUsableKeys',
      message: `the key set has no usable public signing key${why}`,
    };
  }
  if (accepted.length > MAX_KEYS) {
    return {
      ok: false,
      reason: 'InvalidKeySet',
      message: `the key set has ${accepted.length} keys; at most ${MAX_KEYS} are supported`,
    };
  }
  return { ok: true, keys: accepted, dropped };
}
