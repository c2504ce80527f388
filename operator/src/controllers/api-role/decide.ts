/**
 * The ApiRole's status, decided purely: the identifiers people copy into their identity provider
 * (scope, admin ID), whether the role takes effect, and how far its sidecars are.
 */
import {
  ROLE_NAME_MAX,
  ROLE_NAME_PATTERN,
  type ApiRole,
  type ApiRoleStatus,
  type AuthorizationServer,
} from '../../../../crds/src/index.js';
import type { Tenant } from '../../../../sidecar/src/config/contract.js';
import { adminId, effectiveRoleName, roleScope } from '../../../../sidecar/src/config/from-resources.js';
import { setCondition, type DesiredCondition } from '../../conditions.js';
import { duplicateRoleNameOf, selectorsMayOverlap } from '../effective.js';
import { READY, Reason } from '../reasons.js';

export interface SidecarProgress {
  /** Protected pods the role applies to. */
  selected: number;
  /** Of those, how many acknowledged their current configuration. */
  current: number;
  /** The newest revision of a config that carries this role, if any. */
  revision?: number;
}

export interface RoleInput {
  role: ApiRole;
  /** Every ApiRole of the same namespace (may include `role`). */
  peers: readonly ApiRole[];
  /** The AuthorizationServers of the namespace that sidecars trust (enabled, not duplicates). */
  effectiveServers: readonly AuthorizationServer[];
  tenant: Tenant;
  sidecars: SidecarProgress;
  now: Date;
}

export interface RoleDecision {
  status: ApiRoleStatus;
  /** Whether the role takes part in config bundles. */
  effective: boolean;
}

export function decideApiRole(input: RoleInput): RoleDecision {
  const { role, tenant, now } = input;
  const generation = role.metadata.generation;
  const roleName = effectiveRoleName(role);
  const nameOk = roleName.length <= ROLE_NAME_MAX && new RegExp(ROLE_NAME_PATTERN).test(roleName);
  const duplicate = nameOk ? duplicateRoleNameOf(role, input.peers) : undefined;
  const ready = readyCondition(input, roleName, nameOk, duplicate);
  const effective = nameOk && duplicate === undefined;

  const status: ApiRoleStatus = {
    ...(nameOk ? { roleName, scope: roleScope(tenant, roleName), adminId: adminId(tenant, roleName) } : {}),
    sidecars: {
      selected: effective ? input.sidecars.selected : 0,
      current: effective ? input.sidecars.current : 0,
      ...(effective && input.sidecars.revision !== undefined ? { revision: input.sidecars.revision } : {}),
    },
    conditions: setCondition(role.status?.conditions, ready, generation, now),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return { status, effective };
}

function readyCondition(
  input: RoleInput,
  roleName: string,
  nameOk: boolean,
  duplicate: ApiRole | undefined,
): DesiredCondition {
  const { role, sidecars } = input;
  const namespace = role.metadata.namespace ?? '';
  const notReady = (reason: string, message: string): DesiredCondition => ({
    type: READY,
    status: 'False',
    reason,
    message,
  });
  if (!nameOk) {
    return notReady(
      Reason.InvalidRoleName,
      `Role name '${roleName}' is not usable in a scope: use at most ${ROLE_NAME_MAX} letters, digits, '_', '.' or '-' (set spec.roleName).`,
    );
  }
  if (duplicate) {
    return notReady(
      Reason.DuplicateRoleName,
      `Role name '${roleName}' is already defined by ApiRole '${duplicate.metadata.name}' in namespace ${namespace}, which is older; a scope names a role, so it must mean one thing. Set a different spec.roleName on one of them, or delete one.`,
    );
  }
  const servers = input.effectiveServers.filter((s) =>
    selectorsMayOverlap(s.spec.workloadSelector, role.spec.workloadSelector),
  );
  if (servers.length === 0) {
    // Still distributed: the role is valid, it just cannot be used until a server is trusted.
    return notReady(
      Reason.NoAuthorizationServer,
      `No enabled AuthorizationServer in namespace ${namespace} applies to this role's pods, so no token can be verified and no client can use it. Create an AuthorizationServer for the identity provider that issues scope ${roleScope(input.tenant, roleName)}.`,
    );
  }
  const progress =
    sidecars.selected === 0
      ? 'It selects no protected pod yet.'
      : `${sidecars.current} of ${sidecars.selected} sidecar(s) run the current configuration${sidecars.revision !== undefined ? ` (revision ${sidecars.revision})` : ''}.`;
  return {
    type: READY,
    status: 'True',
    reason: Reason.Ready,
    message: `Clients whose token carries scope ${roleScope(input.tenant, roleName)} get this role. ${progress}`,
  };
}
