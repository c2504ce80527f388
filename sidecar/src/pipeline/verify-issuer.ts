/**
 * The issuer, signature and claims steps: the unverified `iss` picks the servers to try, then the
 * token must verify against one of them.
 */
import { quote } from '../auth/keys.js';
import { scopeValues } from '../auth/scope.js';
import type { UnverifiedToken } from '../auth/token-shape.js';
import { verifyAccessToken, type VerifyResult } from '../auth/verify.js';
import type { CompiledConfig, CompiledServer } from './compile-config.js';
import type { DecisionStep } from './decide.js';
import type { ReasonCode } from './reasons.js';
import type { VerifiedIdentity } from './token-cache.js';

export type IssuerOutcome =
  | { ok: true; identity: VerifiedIdentity }
  | { ok: false; reason: ReasonCode; unknownKid?: { server: string; kid: string } };

/**
 * The unverified `iss` only picks the servers to try; the token must then verify against one of
 * them. When several enabled servers share the issuer, the first that accepts it wins; if none does,
 * the failure that got furthest is reported.
 */
export async function verifyWithIssuer(
  compiled: CompiledConfig,
  jwt: string,
  token: UnverifiedToken,
  now: Date,
  steps: DecisionStep[],
): Promise<IssuerOutcome> {
  const iss = token.claims['iss'];
  if (typeof iss !== 'string') {
    steps.push({ step: 'issuer', ok: false, detail: 'the token has no iss claim' });
    return { ok: false, reason: 'issuer_unknown' };
  }
  const candidates = compiled.serversByIssuer.get(iss) ?? [];
  const enabled = candidates.filter((c) => c.server.enabled);
  if (enabled.length === 0) {
    const disabled = candidates.length > 0;
    steps.push({
      step: 'issuer',
      ok: false,
      detail: disabled
        ? `iss ${quote(iss)} belongs to disabled AuthorizationServer ${names(candidates)}`
        : `no AuthorizationServer has issuer ${quote(iss)}`,
    });
    return { ok: false, reason: disabled ? 'server_disabled' : 'issuer_unknown' };
  }
  steps.push({ step: 'issuer', ok: true, detail: `iss matches AuthorizationServer ${names(enabled)}` });

  let worst: { candidate: CompiledServer; result: Extract<VerifyResult, { ok: false }> } | undefined;
  for (const candidate of enabled) {
    const result = verifyAccessToken(jwt, token, candidate, now);
    if (result.ok) {
      const { server } = candidate;
      const scopes = scopeValues(result.token.claims, server.scopeClaims);
      steps.push({
        step: 'signature',
        ok: true,
        detail: `${describeKey(result.token.key)} of ${server.name}`,
      });
      steps.push({
        step: 'claims',
        ok: true,
        detail: describeClaims(result.token.expiresAt, result.token.clientId),
      });
      const identity: VerifiedIdentity = {
        server: server.name,
        issuer: server.issuer,
        key: result.token.key,
        scopeValues: scopes?.values ?? [],
        expiresAt: result.token.expiresAt,
      };
      if (result.token.clientId !== undefined) identity.clientId = result.token.clientId;
      if (scopes !== undefined) identity.scopeClaim = scopes.claim;
      return { ok: true, identity };
    }
    if (worst === undefined || progress(result) > progress(worst.result)) worst = { candidate, result };
  }
  const { candidate, result } = worst as NonNullable<typeof worst>;
  if (result.stage === 'claims')
    steps.push({ step: 'signature', ok: true, detail: `verified by ${candidate.server.name}` });
  steps.push({ step: result.stage, ok: false, detail: `${candidate.server.name}: ${result.detail}` });
  return result.unknownKid === undefined
    ? { ok: false, reason: result.reason }
    : {
        ok: false,
        reason: result.reason,
        unknownKid: { server: candidate.server.name, kid: result.unknownKid },
      };
}

function progress(result: Extract<VerifyResult, { ok: false }>): number {
  if (result.stage === 'claims') return 2;
  return result.reason === 'key_unknown' || result.reason === 'algorithm_not_allowed' ? 0 : 1;
}

function names(servers: readonly CompiledServer[]): string {
  return servers.map((s) => s.server.name).join(', ');
}

function describeKey(key: { kid?: string; alg: string }): string {
  return `signature verified with key ${key.kid === undefined ? '(no kid)' : quote(key.kid)} (${key.alg})`;
}

function describeClaims(expiresAt: number, clientId: string | undefined): string {
  const client = clientId === undefined ? 'no client ID' : `client ${quote(clientId)}`;
  return `time, audience and required claims ok; exp ${new Date(expiresAt * 1000).toISOString()}; ${client}`;
}
