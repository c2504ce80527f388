/** The operator's Prometheus metrics, on a private registry (no global state, one per operator). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createOperatorMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'scopegate_operator_process_' });
  const r = [registry];
  return {
    registry,
    reconciles: new Counter({
      name: 'scopegate_operator_reconcile_total',
      help: 'Reconciles by controller and result (success, error).',
      labelNames: ['controller', 'result'] as const,
      registers: r,
    }),
    reconcileDuration: new Histogram({
      name: 'scopegate_operator_reconcile_duration_seconds',
      help: 'Time one reconcile took, by controller.',
      labelNames: ['controller'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    }),
    statusWrites: new Counter({
      name: 'scopegate_operator_status_writes_total',
      help: 'Status subresource writes by controller (reconciles that changed nothing write nothing).',
      labelNames: ['controller'] as const,
      registers: r,
    }),
    queueDepth: new Gauge({
      name: 'scopegate_operator_workqueue_depth',
      help: 'Keys waiting in each controller work queue.',
      labelNames: ['controller'] as const,
      registers: r,
    }),
    sidecarRequests: new Counter({
      name: 'scopegate_operator_config_push_total',
      help: 'Requests to sidecar admin APIs by kind (push, probe) and result (applied, stale, rejected, config, no-config, error).',
      labelNames: ['kind', 'result'] as const,
      registers: r,
    }),
    sidecars: new Gauge({
      name: 'scopegate_operator_sidecars',
      help: 'Sidecars by state: in_sync (run their current config) or out_of_sync.',
      labelNames: ['state'] as const,
      registers: r,
    }),
    propagation: new Histogram({
      name: 'scopegate_operator_config_propagation_seconds',
      help: 'From a change being observed (resource, keys or pods) to every selected sidecar acknowledging the resulting config.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: r,
    }),
    revision: new Gauge({
      name: 'scopegate_operator_config_revision',
      help: 'The newest config bundle revision signed.',
      registers: r,
    }),
    jwksFetches: new Counter({
      name: 'scopegate_operator_jwks_fetch_total',
      help: 'JWKS fetches by result (success, failure).',
      labelNames: ['result'] as const,
      registers: r,
    }),
    keyRefreshRequests: new Counter({
      name: 'scopegate_operator_key_refresh_requests_total',
      help: 'Key refresh requests from sidecars by answer (accepted, rate-limited, unknown, invalid, forwarded).',
      labelNames: ['answer'] as const,
      registers: r,
    }),
    leader: new Gauge({
      name: 'scopegate_operator_leader',
      help: '1 while this replica is the leader, else 0.',
      registers: r,
    }),
    informerRestarts: new Counter({
      name: 'scopegate_operator_informer_restarts_total',
      help: 'List/watch restarts after an error, by resource.',
      labelNames: ['resource'] as const,
      registers: r,
    }),
    informerRelists: new Counter({
      name: 'scopegate_operator_informer_relists_total',
      help: 'Full lists (initial, periodic, after errors), by resource.',
      labelNames: ['resource'] as const,
      registers: r,
    }),
  };
}

export type OperatorMetrics = ReturnType<typeof createOperatorMetrics>;
