/**
 * The registered-claim checks jose's `jwtVerify` made for us (jose 6, lib/jwt_claims_set.js), as a
 * pure function with our reason codes: `iss`, `aud` and `exp` present (in that order), `iss` equal,
 * `aud` (a string or an array) naming one configured audience, then `iat`, `nbf` and `exp` numbers
 * checked against the clock with the tolerance. `typ` is not checked (it never was).
 */
import type { ReasonCode } from '../pipeline/reasons.js';

export interface ClaimRules {
  issuer: string;
  /** Empty: `aud` is not checked. */
  audiences: readonly string[];
  /** Seconds; must be a finite number ≥ 0. */
  clockTolerance: number;
  now: Date;
}

export type ClaimsCheck = { ok: true; expiresAt: number } | { ok: false; reason: ReasonCode; detail: string };

const failed = (claim: string, reason: ReasonCode, message: string): ClaimsCheck => ({
  ok: false,
  reason,
  detail: `claim ${claim}: ${message}`,
});

export function checkRegisteredClaims(claims: Record<string, unknown>, rules: ClaimRules): ClaimsCheck {
  const checkAudience = rules.audiences.length > 0;
  for (const claim of checkAudience ? ['iss', 'aud', 'exp'] : ['iss', 'exp']) {
    if (!Object.hasOwn(claims, claim)) {
      // jose reports a missing aud as an aud failure, which was mapped to audience_mismatch.
      const reason = claim === 'aud' ? 'audience_mismatch' : 'claim_missing';
      return failed(claim, reason, `missing required "${claim}" claim`);
    }
  }
  if (claims['iss'] !== rules.issuer) return failed('iss', 'issuer_unknown', 'unexpected "iss" claim value');
  if (checkAudience && !audienceMatches(claims['aud'], rules.audiences)) {
    return failed('aud', 'audience_mismatch', 'unexpected "aud" claim value');
  }

  const tolerance = rules.clockTolerance;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    return { ok: false, reason: 'signature_invalid', detail: 'the signature could not be checked' };
  }
  const now = Math.floor(rules.now.getTime() / 1000);
  const iat = claims['iat'];
  if (iat !== undefined && typeof iat !== 'number') {
    return failed('iat', 'token_malformed', '"iat" claim must be a number');
  }
  const nbf = claims['nbf'];
  if (nbf !== undefined) {
    // jose's nbf failures, a wrong type included, were all mapped to token_not_yet_valid.
    if (typeof nbf !== 'number') return failed('nbf', 'token_not_yet_valid', '"nbf" claim must be a number');
    if (nbf > now + tolerance) {
      return failed('nbf', 'token_not_yet_valid', '"nbf" claim timestamp check failed');
    }
  }
  const exp = claims['exp'];
  if (typeof exp !== 'number') return failed('exp', 'token_malformed', '"exp" claim must be a number');
  if (exp <= now - tolerance)
    return { ok: false, reason: 'token_expired', detail: 'the token expired (exp)' };
  return { ok: true, expiresAt: exp };
}

function audienceMatches(aud: unknown, audiences: readonly string[]): boolean {
  if (typeof aud === 'string') return audiences.includes(aud);
  if (Array.isArray(aud)) return audiences.some((a) => aud.includes(a));
  return false;
}
