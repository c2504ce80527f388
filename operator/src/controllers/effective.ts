/**
 * Which resources take effect when several claim the same thing in a namespace. The oldest one wins
 * (creation time, then name), so adding a duplicate never breaks what already works; the newcomer
 * gets Ready=False and stays out of every config bundle.
 */
import type { ApiRole, AuthorizationServer, WorkloadSelector } from '../../../crds/src/index.js';
import { effectiveRoleName } from '../../../sidecar/src/config/from-resources.js';

/** False only when no pod can match both selectors (some label is required with two different values). */
export function selectorsMayOverlap(
  a: WorkloadSelector | undefined,
  b: WorkloadSelector | undefined,
): boolean {
  const left = a?.matchLabels ?? {};
  const right = b?.matchLabels ?? {};
  return Object.entries(left).every(([key, value]) => right[key] === undefined || right[key] === value);
}

interface Dated {
  metadata: { name: string; creationTimestamp?: string };
}

/** Older first; ties broken by name so every replica and every run agrees. */
export function compareAge(a: Dated, b: Dated): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

export const isEnabled = (s: AuthorizationServer) => s.spec.enabled !== false;

/** The older enabled server of the same namespace that already claims this server's issuer, if any. */
export function duplicateIssuerOf(
  server: AuthorizationServer,
  peers: readonly AuthorizationServer[],
): AuthorizationServer | undefined {
  if (!isEnabled(server)) return undefined;
  return peers
    .filter(
      (p) =>
        p.metadata.name !== server.metadata.name &&
        isEnabled(p) &&
        p.spec.issuer === server.spec.issuer &&
        selectorsMayOverlap(p.spec.workloadSelector, server.spec.workloadSelector) &&
        compareAge(p, server) < 0,
    )
    .sort(compareAge)[0];
}

/** The older role of the same namespace that already defines this role name, if any. */
export function duplicateRoleNameOf(role: ApiRole, peers: readonly ApiRole[]): ApiRole | undefined {
  const name = effectiveRoleName(role);
  return peers
    .filter(
      (p) =>
        p.metadata.name !== role.metadata.name &&
        effectiveRoleName(p) === name &&
        selectorsMayOverlap(p.spec.workloadSelector, role.spec.workloadSelector) &&
        compareAge(p, role) < 0,
    )
    .sort(compareAge)[0];
}

/** Servers of one namespace that sidecars trust. */
export function effectiveServers(servers: readonly AuthorizationServer[]): AuthorizationServer[] {
  return servers.filter((s) => isEnabled(s) && duplicateIssuerOf(s, servers) === undefined);
}

/** Roles of one namespace that sidecars enforce. */
export function effectiveRoles(roles: readonly ApiRole[]): ApiRole[] {
  return roles.filter((r) => duplicateRoleNameOf(r, roles) === undefined);
}
