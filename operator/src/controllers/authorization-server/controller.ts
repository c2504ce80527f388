/** AuthorizationServer reconcile: gather (caches, key store) → decide (pure) → one status write → events. */
import { API_VERSION, GROUP, VERSION, type AuthorizationServer } from '../../../../crds/src/index.js';
import type { KubeClient } from '../../kube/client.js';
import type { EventRecorder } from '../../kube/events.js';
import type { Informer } from '../../kube/informer.js';
import { writeStatus } from '../../kube/status.js';
import type { KeyStore } from '../../jwks/key-store.js';
import type { OperatorMetrics } from '../../telemetry/metrics.js';
import { conditionEvents } from '../condition-events.js';
import { splitKey, type Reconcile } from '../controller.js';
import { decideAuthorizationServer } from './decide.js';

export const AUTHORIZATION_SERVER_CONTROLLER = 'authorizationserver';

export function authorizationServerReconciler(deps: {
  client: KubeClient;
  servers: Informer<AuthorizationServer>;
  keyStore: KeyStore;
  events: EventRecorder;
  metrics: OperatorMetrics;
  now: () => Date;
}): Reconcile {
  return async (key, log) => {
    const { namespace, name } = splitKey(key);
    const server = deps.servers.get(namespace, name);
    if (!server) return;
    const decision = decideAuthorizationServer({
      server,
      peers: deps.servers.list(namespace),
      keyState: deps.keyStore.get(key),
      now: deps.now(),
    });
    const ref = { group: GROUP, version: VERSION, plural: 'authorizationservers', namespace, name };
    const wrote = await writeStatus(deps.client, ref, server.status, decision.status);
    if (!wrote) return;
    deps.metrics.statusWrites.inc({ controller: AUTHORIZATION_SERVER_CONTROLLER });
    log.debug({ ready: decision.status.conditions?.[0]?.reason }, 'status written');
    const target = {
      apiVersion: API_VERSION,
      kind: 'AuthorizationServer',
      namespace,
      name,
      ...(server.metadata.uid ? { uid: server.metadata.uid } : {}),
    };
    for (const event of conditionEvents(server.status?.conditions, decision.status.conditions ?? [])) {
      if (event.type === 'Warning') deps.events.warning(target, event.reason, event.note, 'Reconcile');
      else deps.events.normal(target, event.reason, event.note, 'Reconcile');
    }
  };
}
