/** The scope step: which of the token's scope values name a role of this tenant that is defined here. */
import { quote } from '../auth/keys.js';
import { parseScope } from '../auth/scope.js';
import type { CompiledConfig } from './compile-config.js';
import type { VerifiedIdentity } from './token-cache.js';

export type ScopeOutcome =
  | { ok: true; roles: string[]; detail: string }
  | { ok: false; reason: 'scope_missing' | 'role_unknown'; detail: string };

/** Scope values of this tenant (exact cloud and org) whose role is defined here. */
export function rolesFromScopes(compiled: CompiledConfig, identity: VerifiedIdentity): ScopeOutcome {
  const { tenant } = compiled.config;
  if (identity.scopeClaim === undefined) {
    const server = compiled.servers.find((s) => s.server.name === identity.server)?.server;
    const looked = server?.scopeClaims.join(', ') ?? 'the scope claims';
    return { ok: false, reason: 'scope_missing', detail: `the token has none of the scope claims ${looked}` };
  }
  const ours = identity.scopeValues.flatMap((value) => {
    const parts = parseScope(value);
    return parts !== undefined && parts.cloudName === tenant.cloudName && parts.orgId === tenant.orgId
      ? [parts.roleName]
      : [];
  });
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
    const named = ours.slice(0, 8).map((r) => quote(r));
    return { ok: false, reason: 'role_unknown', detail: `no ApiRole defines ${named.join(', ')}` };
  }
  return { ok: true, roles, detail: roles.map((r) => `${prefix}${r} → role ${r}`).join('; ') };
}
