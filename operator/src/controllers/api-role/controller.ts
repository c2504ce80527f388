/** ApiRole reconcile: gather (caches, sidecar progress) → decide (pure) → one status write → events. */
import {
  API_VERSION,
  GROUP,
  VERSION,
  type ApiRole,
  type AuthorizationServer,
} from '../../../../crds/src/index.js';
import type { Tenant } from '../../../../sidecar/src/config/contract.js';
import type { KubeClient } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import type { Informer } from '../../kube/informer.js';
import { writeStatus } from '../../kube/status.js';
import type { RoleSidecars } from '../../push/distributor.js';
import type { OperatorMetrics } from '../../telemetry/metrics.js';
import { conditionEvents } from '../condition-events.js';
import { splitKey, type Reconcile } from '../controller.js';
import { effectiveServers } from '../effective.js';
import { decideApiRole } from './decide.js';

export const API_ROLE_CONTROLLER = 'apirole';

export function apiRoleReconciler(deps: {
  client: KubeClient;
  tenant: Tenant;
  roles: Informer<ApiRole>;
  servers: Informer<AuthorizationServer>;
  sidecars: (namespace: string, roleName: string) => RoleSidecars;
  events: EventRecorder;
  metrics: OperatorMetrics;
  now: () => Date;
}): Reconcile {
  return async (key, log) => {
    const { namespace, name } = splitKey(key);
    const role = deps.roles.get(namespace, name);
    if (!role) return;
    const decision = decideApiRole({
      role,
      peers: deps.roles.list(namespace),
      effectiveServers: effectiveServers(deps.servers.list(namespace)),
      tenant: deps.tenant,
      sidecars: deps.sidecars(namespace, name),
      now: deps.now(),
    });
    const ref = { group: GROUP, version: VERSION, plural: 'apiroles', namespace, name };
    const wrote = await writeStatus(deps.client, ref, role.status, decision.status);
    if (!wrote) return;
    deps.metrics.statusWrites.inc({ controller: API_ROLE_CONTROLLER });
    log.debug({ sidecars: decision.status.sidecars }, 'status written');
    const target = {
      apiVersion: API_VERSION,
      kind: 'ApiRole',
      namespace,
      name,
      ...(role.metadata.uid ? { uid: role.metadata.uid } : {}),
    };
    for (const event of conditionEvents(role.status?.conditions, decision.status.conditions ?? [])) {
      if (event.type === 'Warning') deps.events.warning(target, event.reason, event.note, 'Reconcile');
      else deps.events.normal(target, event.reason, event.note, 'Reconcile');
    }
  };
}
