/**
 * The request path of DESIGN.md as one pure function: request → token → issuer → signature → claims
 * → scope → permission. Every outcome carries a stable reason code and the steps that led to it.
 * Fails closed: no config, an unexpected error or an unknown case all deny.
 */
import { importServerKeys, quote } from '../auth/keys.js';
import { extractBearerToken } from '../auth/bearer.js';
import { parseScope, scopeValues } from '../auth/scope.js';
import { inspectToken, type UnverifiedToken } from '../auth/token-shape.js';
import { verifyAccessToken, type ServerVerifier, type VerifyResult } from '../auth/verify.js';
import type { SidecarConfig } from '../config/contract.js';
import { authorize, type ConsideredPermission } from '../policy/authorize.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import { normalizePath } from '../policy/normalize-path.js';
import { REASONS, type ReasonCode } from './reasons.js';
import type { TokenCache, VerifiedIdentity } from './token-cache.js';

export type { ReasonCode } from './reasons.js';

export interface CompiledServer extends ServerVerifier {
  /** Keys that could not be used, for status and `explain`. */
  problems: string[];
}

export interface CompiledConfig {
  config: SidecarConfig;
  revision: number;
  servers: CompiledServer[];
  /** Servers by exact `issuer`; several resources may name the same issuer. */
  serversByIssuer: ReadonlyMap<string, CompiledServer[]>;
  policy: CompiledPolicy;
  /** Problems found while compiling: unusable keys, patterns that never match. */
  warnings: string[];
}

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

export async function compileConfig(config: SidecarConfig): Promise<CompiledConfig> {
  const warnings: string[] = [];
  const servers: CompiledServer[] = [];
  const serversByIssuer = new Map<string, CompiledServer[]>();
  for (const server of config.authorizationServers) {
    const { keys, problems } = await importServerKeys(server);
    const compiled: CompiledServer = { server, keys, problems };
    servers.push(compiled);
    serversByIssuer.set(server.issuer, [...(serversByIssuer.get(server.issuer) ?? []), compiled]);
    warnings.push(...problems.map((p) => `AuthorizationServer ${server.name}: ${p}`));
  }
  const policy = compilePolicy(config.roles);
  warnings.push(...policy.warnings);
  return { config, revision: config.revision, servers, serversByIssuer, policy, warnings };
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
  const shape = inspectToken(bearer.token);
  if (!shape.ok) {
    steps.push({ step: 'token', ok: false, detail: shape.detail });
    return conclude('token_malformed', at, shape.detail);
  }
  steps.push({ step: 'token', ok: true, detail: describeToken(shape.token) });

  let identity = cache?.get(compiled, bearer.token, now);
  if (identity !== undefined) {
    steps.push({
      step: 'issuer',
      ok: true,
      detail: `AuthorizationServer ${identity.server} (verified earlier, cached)`,
    });
    steps.push({ step: 'signature', ok: true, detail: 'verified earlier (cached until exp)' });
    steps.push({ step: 'claims', ok: true, detail: 'verified earlier (cached until exp)' });
  } else {
    const verified = await verifyWithIssuer(compiled, bearer.token, shape.token, now, steps);
    if (!verified.ok) return conclude(verified.reason, { ...at, ...verified.fields });
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

type VerifyOutcome =
  { ok: true; identity: VerifiedIdentity } | { ok: false; reason: ReasonCode; fields: Partial<Decision> };

/**
 * The unverified `iss` only picks the servers to try; the token must then verify against one of
 * them. When several enabled servers share the issuer, the first that accepts it wins; if none does,
 * the failure that got furthest is reported.
 */
async function verifyWithIssuer(
  compiled: CompiledConfig,
  jwt: string,
  token: UnverifiedToken,
  now: Date,
  steps: DecisionStep[],
): Promise<VerifyOutcome> {
  const iss = token.claims['iss'];
  if (typeof iss !== 'string') {
    steps.push({ step: 'issuer', ok: false, detail: 'the token has no iss claim' });
    return { ok: false, reason: 'issuer_unknown', fields: {} };
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
    return { ok: false, reason: disabled ? 'server_disabled' : 'issuer_unknown', fields: {} };
  }
  steps.push({ step: 'issuer', ok: true, detail: `iss matches AuthorizationServer ${names(enabled)}` });

  let worst: { candidate: CompiledServer; result: Extract<VerifyResult, { ok: false }> } | undefined;
  for (const candidate of enabled) {
    const result = await verifyAccessToken(jwt, token, candidate, now);
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
  const fields: Partial<Decision> = {};
  if (result.unknownKid !== undefined)
    fields.unknownKid = { server: candidate.server.name, kid: result.unknownKid };
  return { ok: false, reason: result.reason, fields };
}

function progress(result: Extract<VerifyResult, { ok: false }>): number {
  if (result.stage === 'claims') return 2;
  return result.reason === 'key_unknown' || result.reason === 'algorithm_not_allowed' ? 0 : 1;
}

type ScopeOutcome =
  | { ok: true; roles: string[]; detail: string }
  | { ok: false; reason: 'scope_missing' | 'role_unknown'; detail: string };

/** Scope values of this tenant (exact cloud and org) whose role is defined here. */
function rolesFromScopes(compiled: CompiledConfig, identity: VerifiedIdentity): ScopeOutcome {
  const { tenant } = compiled.config;
  const server = compiled.servers.find((s) => s.server.name === identity.server)?.server;
  if (identity.scopeClaim === undefined) {
    const looked = server?.scopeClaims.join(', ') ?? 'the scope claims';
    return { ok: false, reason: 'scope_missing', detail: `the token has none of the scope claims ${looked}` };
  }
  const ours = identity.scopeValues
    .map(parseScope)
    .filter((s) => s !== undefined && s.cloudName === tenant.cloudName && s.orgId === tenant.orgId)
    .map((s) => s!.roleName);
  const prefix = `${tenant.cloudName}::${tenant.orgId}::`;
  if (ours.length === 0) {
    return {
      ok: false,
      reason: 'scope_missing',
      detail: `none of the ${identity.scopeValues.length} value(s) of ${identity.scopeClaim} is ${prefix}<role>`,
    };
  }
  const roles = [...new Set(ours)].filter((r) => compiled.policy.roles.has(r));
  if (roles.length === 0) {
    return {
      ok: false,
      reason: 'role_unknown',
      detail: `no ApiRole defines ${ours
        .slice(0, 8)
        .map((r) => quote(r))
        .join(', ')}`,
    };
  }
  return { ok: true, roles, detail: roles.map((r) => `${prefix}${r} → role ${r}`).join('; ') };
}

function names(servers: readonly CompiledServer[]): string {
  return servers.map((s) => s.server.name).join(', ');
}

function describeToken(token: UnverifiedToken): string {
  const kid = token.header['kid'];
  return `a compact JWS, alg ${quote(token.header['alg'] as string)}${typeof kid === 'string' ? `, kid ${quote(kid)}` : ', no kid'}`;
}

function describeKey(key: { kid?: string; alg: string }): string {
  return `signature verified with key ${key.kid === undefined ? '(no kid)' : quote(key.kid)} (${key.alg})`;
}

function describeClaims(expiresAt: number, clientId: string | undefined): string {
  const client = clientId === undefined ? 'no client ID' : `client ${quote(clientId)}`;
  return `time, audience and required claims ok; exp ${new Date(expiresAt * 1000).toISOString()}; ${client}`;
}
