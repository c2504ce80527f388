/**
 * The request path of DESIGN.md as one pure function: request → token → issuer → signature → claims
 * → scope → permission. Every outcome carries a stable reason code and the steps that led to it.
 * Fails closed: no config, an unexpected error or an unknown case all deny.
 */
import { extractBearerToken } from '../auth/bearer.js';
import { quote } from '../auth/keys.js';
import { inspectToken, type UnverifiedToken } from '../auth/token-shape.js';
import { authorize, type ConsideredPermission } from '../policy/authorize.js';
import { normalizePath } from '../policy/normalize-path.js';
import type { CompiledConfig } from './compile-config.js';
import { REASONS, type ReasonCode } from './reasons.js';
import { rolesFromScopes } from './scope-roles.js';
import type { TokenCache, VerifiedIdentity } from './token-cache.js';
import { verifyWithIssuer } from './verify-issuer.js';

export { compileConfig, type CompiledConfig, type CompiledServer } from './compile-config.js';
export type { ReasonCode } from './reasons.js';

export interface RequestFacts {
  method: string;
  /** Path and query exactly as received (the request target). */
  url: string;
  authorization: string | string[] | undefined;
}

export interface Principal {
  issuer: string;
  /** metadata.name of the AuthorizationServer that verified the token. */
  server: string;
  clientId?: string;
  /** Role names from the token's scopes that are defined here. */
  roles: string[];
  adminIds: string[];
  /** `exp`, seconds since the epoch. */
  expiresAt?: number;
}

export interface DecisionStep {
  step: 'request' | 'token' | 'issuer' | 'signature' | 'claims' | 'scope' | 'permission';
  ok: boolean;
  detail: string;
}

export interface Decision {
  allow: boolean;
  status: 200 | 400 | 401 | 403 | 503;
  reason: ReasonCode;
  /** Safe to send to the client. */
  message: string;
  /** The normalised path that was authorized ('' when the path itself was refused). */
  path: string;
  /** The query string as received, to forward after `path`. */
  search?: string;
  principal?: Principal;
  matched?: { role: string; permission: string };
  /** Set when the token names a key this server does not have: the sidecar should ask for a refresh. */
  unknownKid?: { server: string; kid: string };
  steps: DecisionStep[];
  /** With `explain`: every permission of the caller's roles and how it related to the request. */
  considered?: ConsideredPermission[];
}

export interface DecideOptions {
  /** Also list every permission considered (for `scopegate explain`; costs allocations). */
  explain?: boolean;
}

export async function decide(
  compiled: CompiledConfig | undefined,
  request: RequestFacts,
  now: Date,
  cache?: TokenCache,
  options: DecideOptions = {},
): Promise<Decision> {
  const steps: DecisionStep[] = [];
  const conclude = (
    reason: ReasonCode,
    fields: Partial<Decision> & { path: string },
    detail?: string,
  ): Decision => {
    const { status, message } = REASONS[reason];
    const shown = detail !== undefined && SHOW_DETAIL.has(reason) ? `${message}: ${detail}` : message;
    return { allow: reason === 'allowed', status, reason, message: shown, steps, ...fields };
  };
  if (compiled === undefined) return conclude('config_missing', { path: '' });

  const url = normalizePath(request.url);
  if (!url.ok) {
    steps.push({ step: 'request', ok: false, detail: url.message });
    return conclude('request_invalid', { path: '' }, url.message);
  }
  const at = { path: url.path, search: url.search };
  steps.push({ step: 'request', ok: true, detail: `${quote(request.method)} ${url.path}` });

  const bearer = extractBearerToken(request.authorization);
  if (!bearer.ok) {
    steps.push({ step: 'token', ok: false, detail: bearer.detail });
    return conclude(bearer.reason, at, bearer.detail);
  }
  // A cached token passed every check below before; skip straight to its verified identity.
  let identity = cache?.get(compiled, bearer.token, now);
  if (identity !== undefined) {
    steps.push({ step: 'token', ok: true, detail: 'a compact JWS (verified earlier, cached until exp)' });
    steps.push({ step: 'issuer', ok: true, detail: `AuthorizationServer ${identity.server} (cached)` });
    steps.push({ step: 'signature', ok: true, detail: `${describeCachedKey(identity)} (cached)` });
    steps.push({ step: 'claims', ok: true, detail: 'verified earlier (cached until exp)' });
  } else {
    const shape = inspectToken(bearer.token);
    if (!shape.ok) {
      steps.push({ step: 'token', ok: false, detail: shape.detail });
      return conclude('token_malformed', at, shape.detail);
    }
    steps.push({ step: 'token', ok: true, detail: describeToken(shape.token) });
    const verified = await verifyWithIssuer(compiled, bearer.token, shape.token, now, steps);
    if (!verified.ok) {
      const unknownKid = verified.unknownKid === undefined ? {} : { unknownKid: verified.unknownKid };
      return conclude(verified.reason, { ...at, ...unknownKid });
    }
    identity = verified.identity;
    cache?.set(compiled, bearer.token, identity, now);
  }

  const principal: Principal = { issuer: identity.issuer, server: identity.server, roles: [], adminIds: [] };
  if (identity.clientId !== undefined) principal.clientId = identity.clientId;
  principal.expiresAt = identity.expiresAt;

  const scope = rolesFromScopes(compiled, identity);
  steps.push({ step: 'scope', ok: scope.ok, detail: scope.detail });
  if (!scope.ok) return conclude(scope.reason, { ...at, principal });
  principal.roles = scope.roles;
  principal.adminIds = scope.roles.map((r) => compiled.policy.roles.get(r)?.adminId as string);

  const policy = authorize(compiled.policy, scope.roles, request.method, url.path, options);
  const explained = policy.considered === undefined ? {} : { considered: policy.considered };
  if (policy.allow) {
    const { role, permission, pattern } = policy.grantedBy;
    steps.push({
      step: 'permission',
      ok: true,
      detail: `role ${role}, permission ${permission}: ${pattern} grants ${quote(request.method)}`,
    });
    return conclude('allowed', { ...at, principal, matched: { role, permission }, ...explained });
  }
  if (policy.deniedBy !== undefined) {
    const { role, permission, pattern } = policy.deniedBy;
    steps.push({
      step: 'permission',
      ok: false,
      detail: `role ${role}, permission ${permission} (access None) matches ${pattern}: denied whatever else grants`,
    });
    return conclude('permission_denied', { ...at, principal, matched: { role, permission }, ...explained });
  }
  steps.push({
    step: 'permission',
    ok: false,
    detail: `no permission of ${scope.roles.join(', ')} grants ${quote(request.method)} on ${url.path}`,
  });
  return conclude('permission_denied', { ...at, principal, ...explained });
}

/** Reasons whose detail helps the caller fix their request and reveals nothing about the config. */
const SHOW_DETAIL = new Set<ReasonCode>(['request_invalid', 'token_missing', 'token_malformed']);

function describeToken(token: UnverifiedToken): string {
  const kid = token.header['kid'];
  return `a compact JWS, alg ${quote(token.header['alg'] as string)}${typeof kid === 'string' ? `, kid ${quote(kid)}` : ', no kid'}`;
}

function describeCachedKey(identity: VerifiedIdentity): string {
  return `key ${identity.key.kid === undefined ? '(no kid)' : quote(identity.key.kid)} (${identity.key.alg}) of ${identity.server}`;
}
