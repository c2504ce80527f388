/**
 * The verification keys of one authorization server, imported once per config revision, and the
 * choice of key for a token. Keys come only from the config: `jku`, `x5u`, `jwk` and `x5c` token
 * headers are never read, so a token can never bring its own key.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { importJWK } from 'jose';
import type { Algorithm, Jwk } from '../../../crds/src/index.js';
import type { SidecarAuthorizationServer } from '../config/contract.js';

export interface VerificationKey {
  kid: string | undefined;
  alg: Algorithm;
  /** For node:crypto.verify (see signature.ts); made from the public members of the JWK only. */
  key: KeyObject;
}

export type KeySelection =
  | { ok: true; key: VerificationKey }
  | { ok: false; reason: 'key_unknown' | 'signature_invalid'; detail: string; unknownKid?: string };

const RSA_ALGORITHMS: Algorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const CURVE_ALGORITHMS: Record<string, Record<string, Algorithm[]>> = {
  EC: { 'P-256': ['ES256'], 'P-384': ['ES384'], 'P-521': ['ES512'] },
  OKP: { Ed25519: ['EdDSA'] },
};
/** A kid worth asking the operator to refetch for; anything else is junk and triggers nothing. */
const PLAUSIBLE_KID = /^[\x21-\x7e]{1,256}$/;

/** One entry per (key, algorithm it may verify); keys that fail to import are reported, not fatal. */
export async function importServerKeys(
  server: SidecarAuthorizationServer,
): Promise<{ keys: VerificationKey[]; problems: string[] }> {
  const keys: VerificationKey[] = [];
  const problems: string[] = [];
  for (const jwk of server.keys.keys) {
    const algorithms = algorithmsFor(jwk).filter((alg) => server.allowedAlgorithms.includes(alg));
    if (algorithms.length === 0) {
      problems.push(`key ${jwk.kid ?? '(no kid)'} fits none of the allowed algorithms`);
      continue;
    }
    for (const alg of algorithms) {
      try {
        // jose's import stays the gate for which keys are usable with which algorithm.
        const checked = await importJWK({ ...jwk, alg, ext: false }, alg, { extractable: false });
        if (checked instanceof Uint8Array) throw new TypeError('a symmetric key');
        keys.push({ kid: jwk.kid, alg, key: createPublicKey({ key: publicMembers(jwk), format: 'jwk' }) });
      } catch (error) {
        problems.push(`key ${jwk.kid ?? '(no kid)'} cannot be used with ${alg}: ${(error as Error).message}`);
      }
    }
  }
  return { keys, problems };
}

/** Only the members a public key is made of: never `d` or other private members, whatever the config holds. */
function publicMembers(jwk: Jwk): JsonWebKey {
  const members: JsonWebKey = { kty: jwk.kty };
  for (const name of ['crv', 'n', 'e', 'x', 'y'] as const) {
    if (jwk[name] !== undefined) members[name] = jwk[name];
  }
  return members;
}

function algorithmsFor(jwk: Jwk): Algorithm[] {
  const byType = jwk.kty === 'RSA' ? RSA_ALGORITHMS : (CURVE_ALGORITHMS[jwk.kty]?.[jwk.crv ?? ''] ?? []);
  // 'Ed25519' is the newer name of EdDSA over Ed25519 (RFC 9864).
  const declared = jwk.alg === 'Ed25519' ? 'EdDSA' : jwk.alg;
  return declared === undefined ? byType : byType.filter((a) => a === declared);
}

/**
 * The key for a token header. With a kid, only keys with exactly that kid are candidates (a kid of
 * another server's key is simply unknown here). Without a kid, the one key that fits the algorithm;
 * if several fit, the token is ambiguous and refused rather than tried against each.
 */
export function selectKey(
  keys: readonly VerificationKey[],
  kid: string | undefined,
  alg: string,
): KeySelection {
  if (kid !== undefined) {
    const withKid = keys.filter((k) => k.kid === kid);
    if (withKid.length === 0) {
      const unknown: KeySelection = {
        ok: false,
        reason: 'key_unknown',
        detail: `no key of this server has kid ${quote(kid)}`,
      };
      return PLAUSIBLE_KID.test(kid) ? { ...unknown, unknownKid: kid } : unknown;
    }
    const key = withKid.find((k) => k.alg === alg);
    return key !== undefined
      ? { ok: true, key }
      : { ok: false, reason: 'signature_invalid', detail: `key ${quote(kid)} is not a ${alg} key` };
  }
  const fitting = keys.filter((k) => k.alg === alg);
  if (fitting.length === 1) return { ok: true, key: fitting[0] as VerificationKey };
  return {
    ok: false,
    reason: 'key_unknown',
    detail:
      fitting.length === 0
        ? `the token has no kid and no key of this server fits ${alg}`
        : `the token has no kid and ${fitting.length} keys of this server fit ${alg}`,
  };
}

/** Attacker-chosen text, shortened and quoted so it cannot forge lines in logs or output. */
export function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
