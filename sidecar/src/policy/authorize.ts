/**
 * Decides method + path for a caller holding some roles: allowed when a permission of any of them
 * grants the method on the path and no `None` permission of any of them matches the path.
 * Only the request's own method counts (method-override headers never change it), and a method
 * outside the permissions' lists (TRACE, CONNECT, PROPFIND, ...) is never granted.
 */
import type { CompiledPermission, CompiledPolicy } from './compile.js';
import { matchesPattern } from './path-pattern.js';
import { pathSegments } from './normalize-path.js';

export interface PermissionRef {
  role: string;
  permission: string;
  /** The pattern that matched the path. */
  pattern: string;
}

export interface ConsideredPermission {
  role: string;
  resource: string;
  permission: string;
  summary: string;
  effect: 'grant' | 'deny';
  /** The first pattern matching the path, if any. */
  matchedPattern?: string;
  /** Whether the permission covers the method (always false for a deny). */
  coversMethod: boolean;
}

export type PolicyDecision =
  | { allow: true; grantedBy: PermissionRef; considered?: ConsideredPermission[] }
  | { allow: false; deniedBy?: PermissionRef; considered?: ConsideredPermission[] };

export function authorize(
  policy: CompiledPolicy,
  roleNames: readonly string[],
  method: string,
  normalizedPath: string,
  options: { explain?: boolean } = {},
): PolicyDecision {
  const path = pathSegments(normalizedPath);
  const considered: ConsideredPermission[] | undefined = options.explain ? [] : undefined;
  let grantedBy: PermissionRef | undefined;
  let deniedBy: PermissionRef | undefined;
  for (const roleName of roleNames) {
    for (const permission of policy.roles.get(roleName)?.permissions ?? []) {
      const pattern = firstMatch(permission, path);
      const coversMethod = permission.effect === 'grant' && permission.methods.has(method);
      considered?.push(describe(permission, pattern, coversMethod));
      if (pattern === undefined) continue;
      const ref = { role: permission.roleName, permission: permission.name, pattern };
      if (permission.effect === 'deny') {
        deniedBy ??= ref;
        if (considered === undefined) break;
      } else if (coversMethod) {
        grantedBy ??= ref;
      }
    }
    if (deniedBy !== undefined && considered === undefined) break;
  }
  const explained = considered === undefined ? {} : { considered };
  if (deniedBy !== undefined) return { allow: false, deniedBy, ...explained };
  if (grantedBy !== undefined) return { allow: true, grantedBy, ...explained };
  return { allow: false, ...explained };
}

function firstMatch(permission: CompiledPermission, path: readonly string[]): string | undefined {
  return permission.patterns.find((p) => matchesPattern(p, path))?.source;
}

function describe(
  permission: CompiledPermission,
  matchedPattern: string | undefined,
  coversMethod: boolean,
): ConsideredPermission {
  const out: ConsideredPermission = {
    role: permission.roleName,
    resource: permission.resource,
    permission: permission.name,
    summary: permission.summary,
    effect: permission.effect,
    coversMethod,
  };
  if (matchedPattern !== undefined) out.matchedPattern = matchedPattern;
  return out;
}
