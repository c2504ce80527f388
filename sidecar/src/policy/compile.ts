/**
 * Compiles the roles of a SidecarConfig into the structure `authorize` walks, once per revision.
 * Several ApiRoles with the same roleName are one role: the scope names the role, not the resource.
 */
import { ACCESS_METHODS, type Permission } from '../../../crds/src/index.js';
import type { SidecarRole } from '../config/contract.js';
import { compilePathPattern, type PathPattern } from './path-pattern.js';

export interface CompiledPermission {
  roleName: string;
  /** metadata.name of the ApiRole the permission comes from. */
  resource: string;
  name: string;
  /** `deny` for access None: it matches every method and wins over every grant. */
  effect: 'grant' | 'deny';
  /** Methods granted; empty for a deny. */
  methods: ReadonlySet<string>;
  patterns: PathPattern[];
  /** How the permission reads in the resource, for explanations. */
  summary: string;
}

export interface CompiledRole {
  roleName: string;
  adminId: string;
  resources: string[];
  permissions: CompiledPermission[];
}

export interface CompiledPolicy {
  roles: ReadonlyMap<string, CompiledRole>;
  /** Patterns that can never match (they fail validation a resource would normally have caught). */
  warnings: string[];
}

export function compilePolicy(roles: readonly SidecarRole[]): CompiledPolicy {
  const compiled = new Map<string, CompiledRole>();
  const warnings: string[] = [];
  for (const role of roles) {
    let entry = compiled.get(role.roleName);
    if (entry === undefined) {
      entry = { roleName: role.roleName, adminId: role.adminId, resources: [], permissions: [] };
      compiled.set(role.roleName, entry);
    }
    entry.resources.push(role.name);
    for (const permission of role.permissions) {
      entry.permissions.push(compilePermission(role, permission, warnings));
    }
  }
  return { roles: compiled, warnings };
}

function compilePermission(
  role: SidecarRole,
  permission: Permission,
  warnings: string[],
): CompiledPermission {
  const patterns: PathPattern[] = [];
  for (const source of permission.paths) {
    const result = compilePathPattern(source);
    if (result.ok) patterns.push(result.pattern);
    else
      warnings.push(
        `ApiRole ${role.name}, permission ${permission.name}: ${result.message}; it never matches`,
      );
  }
  const deny = permission.access === 'None';
  // Neither access nor methods (schema-invalid) grants nothing: fail closed.
  const methods = deny
    ? []
    : (permission.methods ?? (permission.access ? ACCESS_METHODS[permission.access] : []));
  return {
    roleName: role.roleName,
    resource: role.name,
    name: permission.name,
    effect: deny ? 'deny' : 'grant',
    methods: new Set(methods),
    patterns,
    summary:
      permission.access !== undefined ? `access ${permission.access}` : `methods ${methods.join(', ')}`,
  };
}
