/**
 * Verifies an access token against one authorization server: algorithm allow-list, key choice,
 * signature, time claims with the server's skew, audience, then client ID and required claims.
 * jose errors are mapped to our reason codes; anything unexpected is a signature failure (fail closed).
 */
import { errors, jwtVerify } from 'jose';
import type { SidecarAuthorizationServer } from '../config/contract.js';
import type { ReasonCode } from '../pipeline/reasons.js';
import { failedRequiredClaim, readClientId } from './claims.js';
import { quote, selectKey, type VerificationKey } from './keys.js';
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

export async function verifyAccessToken(
  jwt: string,
  unverified: UnverifiedToken,
  verifier: ServerVerifier,
  now: Date,
): Promise<VerifyResult> {
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

  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwtVerify(jwt, selected.key.key, {
      algorithms: [selected.key.alg],
      issuer: server.issuer,
      ...(server.audiences.length > 0 ? { audience: server.audiences } : {}),
      clockTolerance: server.clockSkewSeconds,
      currentDate: now,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    return { ok: false, ...mapJoseError(error) };
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
  return { ok: true, token: { claims, clientId, expiresAt: claims['exp'] as number, key } };
}

export function mapJoseError(error: unknown): { stage: VerifyStage; reason: ReasonCode; detail: string } {
  if (error instanceof errors.JWTExpired) {
    return { stage: 'claims', reason: 'token_expired', detail: `the token expired (${error.claim})` };
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const detail = `claim ${error.claim}: ${error.message}`;
    if (error.claim === 'aud') return { stage: 'claims', reason: 'audience_mismatch', detail };
    if (error.reason === 'missing') return { stage: 'claims', reason: 'claim_missing', detail };
    if (error.claim === 'nbf') return { stage: 'claims', reason: 'token_not_yet_valid', detail };
    if (error.claim === 'iss') return { stage: 'claims', reason: 'issuer_unknown', detail };
    return { stage: 'claims', reason: 'token_malformed', detail };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return { stage: 'signature', reason: 'algorithm_not_allowed', detail: error.message };
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return { stage: 'signature', reason: 'token_malformed', detail: error.message };
  }
  const detail =
    error instanceof errors.JWSSignatureVerificationFailed
      ? 'the signature does not verify'
      : 'the signature could not be checked';
  return { stage: 'signature', reason: 'signature_invalid', detail };
}
