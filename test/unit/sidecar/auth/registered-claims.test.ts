import fc from 'fast-check';
import { errors, jwtVerify, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { checkRegisteredClaims, type ClaimRules } from '../../../../sidecar/src/auth/registered-claims.js';
import type { ReasonCode } from '../../../../sidecar/src/pipeline/reasons.js';

const ISSUER = 'https://idp.example.com';
const NOW = new Date('2030-01-01T00:00:00.700Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const rules = (extra: Partial<ClaimRules> = {}): ClaimRules => ({
  issuer: ISSUER,
  audiences: [],
  clockTolerance: 60,
  now: NOW,
  ...extra,
});
const reasonOf = (claims: Record<string, unknown>, extra: Partial<ClaimRules> = {}) => {
  const result = checkRegisteredClaims(claims, rules(extra));
  return result.ok ? 'ok' : result.reason;
};

describe('checkRegisteredClaims', () => {
  it('accepts a valid claims set and returns exp', () => {
    expect(checkRegisteredClaims({ iss: ISSUER, exp: NOW_S + 10 }, rules())).toEqual({
      ok: true,
      expiresAt: NOW_S + 10,
    });
  });

  it('requires iss and exp, and aud when audiences are configured', () => {
    expect(reasonOf({ exp: NOW_S + 10 })).toBe('claim_missing');
    expect(reasonOf({ iss: ISSUER })).toBe('claim_missing');
    expect(reasonOf({ iss: ISSUER, exp: NOW_S + 10 }, { audiences: ['api'] })).toBe('audience_mismatch');
    expect(reasonOf({ iss: 'https://other', exp: NOW_S + 10 })).toBe('issuer_unknown');
  });

  it('matches aud as a string or an array naming a configured audience', () => {
    const base = { iss: ISSUER, exp: NOW_S + 10 };
    const audiences = ['api', 'api2'];
    expect(reasonOf({ ...base, aud: 'api2' }, { audiences })).toBe('ok');
    expect(reasonOf({ ...base, aud: ['x', 'api'] }, { audiences })).toBe('ok');
    expect(reasonOf({ ...base, aud: 'x' }, { audiences })).toBe('audience_mismatch');
    expect(reasonOf({ ...base, aud: [] }, { audiences })).toBe('audience_mismatch');
    expect(reasonOf({ ...base, aud: { api: true } }, { audiences })).toBe('audience_mismatch');
    expect(reasonOf({ ...base, aud: 'x' })).toBe('ok');
  });

  it('checks exp, nbf and iat against the second-truncated clock with the tolerance', () => {
    const base = { iss: ISSUER, exp: NOW_S + 10 };
    expect(reasonOf({ ...base, exp: NOW_S - 60 })).toBe('token_expired');
    expect(reasonOf({ ...base, exp: NOW_S - 59 })).toBe('ok');
    expect(reasonOf({ ...base, exp: NOW_S }, { clockTolerance: 0 })).toBe('token_expired');
    expect(reasonOf({ ...base, exp: NOW_S + 1 }, { clockTolerance: 0 })).toBe('ok');
    expect(reasonOf({ ...base, nbf: NOW_S + 60 })).toBe('ok');
    expect(reasonOf({ ...base, nbf: NOW_S + 61 })).toBe('token_not_yet_valid');
    expect(reasonOf({ ...base, exp: '2099-01-01' })).toBe('token_malformed');
    expect(reasonOf({ ...base, nbf: '0' })).toBe('token_not_yet_valid');
    expect(reasonOf({ ...base, iat: null })).toBe('token_malformed');
    expect(reasonOf({ ...base, iat: NOW_S + 3600 })).toBe('ok'); // verify.ts refuses a future iat
  });
});

/** How the sidecar mapped jose's jwtVerify errors before it verified with node:crypto. */
function joseReason(error: unknown): ReasonCode {
  if (error instanceof errors.JWTExpired) return 'token_expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'audience_mismatch';
    if (error.reason === 'missing') return 'claim_missing';
    if (error.claim === 'nbf') return 'token_not_yet_valid';
    if (error.claim === 'iss') return 'issuer_unknown';
    return 'token_malformed';
  }
  return 'signature_invalid';
}

describe('checkRegisteredClaims agrees with jose jwtVerify', () => {
  const secret = new TextEncoder().encode('k'.repeat(32));
  const time = fc.oneof(
    fc.integer({ min: NOW_S - 120, max: NOW_S + 120 }),
    fc.constantFrom('1', null, true, [NOW_S], 1.5 + NOW_S),
  );
  const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const claimsArb = fc.record(
    {
      iss: optional(fc.constantFrom(ISSUER, 'https://other', 7)),
      aud: optional(fc.oneof(fc.constantFrom('api', 'x', 3), fc.array(fc.constantFrom('api', 'x', 3)))),
      exp: optional(time),
      nbf: optional(time),
      iat: optional(time),
    },
    { requiredKeys: [] },
  );

  it('on random claims, audiences and tolerances', async () => {
    await fc.assert(
      fc.asyncProperty(
        claimsArb,
        fc.constantFrom([], ['api'], ['api', 'other']),
        fc.constantFrom(0, 30, 60),
        async (raw, audiences, clockTolerance) => {
          const claims = Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined));
          const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(secret);
          let expected: ReasonCode | 'ok' = 'ok';
          try {
            await jwtVerify(token, secret, {
              algorithms: ['HS256'],
              issuer: ISSUER,
              ...(audiences.length > 0 ? { audience: [...audiences] } : {}),
              clockTolerance,
              currentDate: NOW,
              requiredClaims: ['exp'],
            });
          } catch (error) {
            expected = joseReason(error);
          }
          expect(reasonOf(claims, { audiences, clockTolerance })).toBe(expected);
        },
      ),
      { numRuns: 400 },
    );
  });
});
