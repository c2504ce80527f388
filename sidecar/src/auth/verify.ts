/**
 * Verifies an access token against one authorization server: algorithm allow-list, key choice,
 * signature (node:crypto, signature.ts), registered claims with the server's skew and audience
 * (registered-claims.ts, jose's jwtVerify rules), then client ID and required claims.
 * Anything unexpected is a signature failure (fail closed).
 */
import type { SidecarAuthorizationServer } from '../config/contract.js';
import type { ReasonCode } from '../pipeline/reasons.js';
import { failedRequiredClaim, readClientId } from './claims.js';
import { quote, selectKey, type VerificationKey } from './keys.js';
import { checkRegisteredClaims } from './registered-claims.js';
import { verifySignature } from './signature.js';
import type { UnverifiedToken } from './token-shape.js';

export interface ServerVerifier {
  server: SidecarAuthorizationServer;
  keys: readonly VerificationKey[];
}

export interface VerifiedToken {
  claims: Record<string, unknown>;
  clientId: string | undefined;
  /** `exp` in seconds since the epoch (always present: tokens without one are refused). */
  expiresAt: number;
  /** The key that verified the signature. */
  key: { kid?: string; alg: string };
}

/** How far verification got: failures after the signature say more about the token than before. */
export type VerifyStage = 'signature' | 'claims';

export type VerifyResult =
  | { ok: true; token: VerifiedToken }
  | { ok: false; stage: VerifyStage; reason: ReasonCode; detail: string; unknownKid?: string };

const NEVER_ALLOWED = /^(none|HS\d+)$/i;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function verifyAccessToken(
  jwt: string,
  unverified: UnverifiedToken,
  verifier: ServerVerifier,
  now: Date,
): VerifyResult {
  const { server } = verifier;
  const alg = unverified.header['alg'] as string;
  if (NEVER_ALLOWED.test(alg) || !(server.allowedAlgorithms as string[]).includes(alg)) {
    return {
      ok: false,
      stage: 'signature',
      reason: 'algorithm_not_allowed',
      detail: `alg ${quote(alg)} is not allowed`,
    };
  }
  const selected = selectKey(verifier.keys, unverified.header['kid'] as string | undefined, alg);
  if (!selected.ok) return { ...selected, stage: 'signature' };

  // The signature covers exactly the first two parts as sent; the claims are read from those bytes.
  if (!COMPACT_JWS.test(jwt)) {
    return { ok: false, stage: 'signature', reason: 'token_malformed', detail: 'Invalid Compact JWS' };
  }
  const signatureAt = jwt.lastIndexOf('.');
  const signature = verifySignature(
    alg,
    selected.key.key,
    Buffer.from(jwt.slice(0, signatureAt), 'ascii'),
    Buffer.from(jwt.slice(signatureAt + 1), 'base64url'),
  );
  if (!signature.ok) {
    return { ok: false, stage: 'signature', reason: 'signature_invalid', detail: signature.detail };
  }
  const claims = decodePayload(jwt.slice(jwt.indexOf('.') + 1, signatureAt));
  if (claims === undefined) {
    return {
      ok: false,
      stage: 'signature',
      reason: 'token_malformed',
      detail: 'JWT Claims Set must be a top-level JSON object',
    };
  }
  const checked = checkRegisteredClaims(claims, {
    issuer: server.issuer,
    audiences: server.audiences,
    clockTolerance: server.clockSkewSeconds,
    now,
  });
  if (!checked.ok) {
    const stage = checked.reason === 'signature_invalid' ? 'signature' : 'claims';
    return { ok: false, stage, reason: checked.reason, detail: checked.detail };
  }

  const iat = claims['iat'];
  if (typeof iat === 'number' && iat > now.getTime() / 1000 + server.clockSkewSeconds) {
    return { ok: false, stage: 'claims', reason: 'token_not_yet_valid', detail: 'iat is in the future' };
  }
  const clientId = readClientId(claims, server.clientIdClaims);
  if (server.clientIds.length > 0 && (clientId === undefined || !server.clientIds.includes(clientId))) {
    return {
      ok: false,
      stage: 'claims',
      reason: 'client_not_allowed',
      detail:
        clientId === undefined
          ? `no client ID in ${server.clientIdClaims.join(', ')}`
          : `client ${quote(clientId)} is not in clientIds`,
    };
  }
  const failed = failedRequiredClaim(claims, server.requiredClaims);
  if (failed !== undefined) {
    return {
      ok: false,
      stage: 'claims',
      reason: 'claim_missing',
      detail: failed.missing
        ? `required claim ${quote(failed.claim)} is missing`
        : `required claim ${quote(failed.claim)} has no allowed value`,
    };
  }
  const key =
    selected.key.kid === undefined
      ? { alg: selected.key.alg }
      : { kid: selected.key.kid, alg: selected.key.alg };
  return { ok: true, token: { claims, clientId, expiresAt: checked.expiresAt, key } };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The verified payload as a JSON object, or undefined. */
function decodePayload(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(part, 'base64url')));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
