/**
 * Every metric the sidecar exports, on a registry of its own (no prom-client globals). Names follow
 * `scopegate_sidecar_<what>_<unit|total>`; labels are bounded sets (decision, reason, result, kind,
 * server = namespace/name from config). Never a token, subject, kid or raw path. See docs/metrics.md.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const PREFIX = 'scopegate_sidecar_';
const NON_CONFORMING_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export type ConfigSource = 'push' | 'persisted' | 'file' | 'keys';
export type ConfigReloadResult = 'applied' | 'invalid' | 'signature_invalid' | 'stale' | 'error';
export type JwksFetchResult = 'success' | 'timeout' | 'http_error' | 'too_large' | 'invalid' | 'network';
export type KeyRefreshRequestResult = 'sent' | 'failed' | 'rate_limited';

export interface SidecarMetricsOptions {
  version: string;
  /** Process metrics (RSS, CPU, event loop lag); off in unit tests to keep them cheap. */
  processMetrics?: boolean;
}

export class SidecarMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'decision' | 'reason'>;
  readonly requestDuration: Histogram<'decision'>;
  readonly verificationDuration: Histogram;
  readonly tokenCacheHits: Counter;
  readonly tokenCacheMisses: Counter;
  readonly configRevision: Gauge;
  readonly configAppliedTimestamp: Gauge;
  readonly configApplyDuration: Histogram;
  readonly configReloads: Counter<'source' | 'result'>;
  readonly serverKeys: Gauge<'server'>;
  readonly jwksFetches: Counter<'server' | 'result'>;
  readonly keyRefreshRequests: Counter<'result'>;
  readonly upstreamErrors: Counter<'kind'>;
  readonly auditWriteErrors: Counter;

  constructor(options: SidecarMetricsOptions) {
    const registers = [(this.registry = new Registry())];
    this.requests = new Counter({
      name: `${PREFIX}requests_total`,
      help: 'Requests decided, by decision (allow, deny) and reason code.',
      labelNames: ['decision', 'reason'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: `${PREFIX}request_duration_seconds`,
      help: 'Time from the request to the end of the response, upstream included, by decision.',
      labelNames: ['decision'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.verificationDuration = new Histogram({
      name: `${PREFIX}verification_duration_seconds`,
      help: 'Time spent deciding a request: token verification and role matching.',
      buckets: [0.00002, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25],
      registers,
    });
    this.tokenCacheHits = new Counter({
      name: `${PREFIX}token_cache_hits_total`,
      help: 'Requests whose token was found already verified in the token cache.',
      registers,
    });
    this.tokenCacheMisses = new Counter({
      name: `${PREFIX}token_cache_misses_total`,
      help: 'Requests whose token had to be verified (not in the token cache).',
      registers,
    });
    this.configRevision = new Gauge({
      name: `${PREFIX}config_revision`,
      help: 'Revision of the config in force; 0 before any config.',
      registers,
    });
    this.configAppliedTimestamp = new Gauge({
      name: `${PREFIX}config_applied_timestamp_seconds`,
      help: 'Unix time at which the config in force was applied; 0 before any config.',
      registers,
    });
    this.configApplyDuration = new Histogram({
      name: `${PREFIX}config_apply_duration_seconds`,
      help: 'Time to verify, compile and swap in a new config.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.configReloads = new Counter({
      name: `${PREFIX}config_reloads_total`,
      help: 'Config updates by source (push, persisted, file, keys) and result (applied, invalid, signature_invalid, stale, error).',
      labelNames: ['source', 'result'],
      registers,
    });
    this.serverKeys = new Gauge({
      name: `${PREFIX}server_keys`,
      help: 'Public keys trusted per authorization server (server = namespace/name) in the config in force.',
      labelNames: ['server'],
      registers,
    });
    this.jwksFetches = new Counter({
      name: `${PREFIX}jwks_fetches_total`,
      help: 'JWKS fetches in standalone mode, by server (namespace/name) and result.',
      labelNames: ['server', 'result'],
      registers,
    });
    this.keyRefreshRequests = new Counter({
      name: `${PREFIX}key_refresh_requests_total`,
      help: 'Key refresh requests sent to the operator after an unknown kid, by result (sent, failed, rate_limited).',
      labelNames: ['result'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: `${PREFIX}upstream_errors_total`,
      help: 'Failures reaching the protected application, by kind (refused, reset, timeout, connect_timeout, dns, other).',
      labelNames: ['kind'],
      registers,
    });
    this.auditWriteErrors = new Counter({
      name: `${PREFIX}audit_write_errors_total`,
      help: 'Audit records that could not be written.',
      registers,
    });
    new Gauge({
      name: `${PREFIX}build_info`,
      help: 'Always 1; labels carry the scopegate and Node.js versions.',
      labelNames: ['version', 'node_version'],
      registers,
    }).set({ version: options.version, node_version: process.version }, 1);

    this.configRevision.set(0);
    this.configAppliedTimestamp.set(0);
    for (const decision of ['allow', 'deny']) this.requestDuration.zero({ decision });
    this.requests.inc({ decision: 'deny', reason: 'config_missing' }, 0);
    this.requests.inc({ decision: 'allow', reason: 'allowed' }, 0);
    this.tokenCacheHits.inc(0);
    this.tokenCacheMisses.inc(0);
    this.auditWriteErrors.inc(0);
    if (options.processMetrics) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names these gauges `_total`, which Prometheus reserves for counters (promtool flags them).
      for (const name of NON_CONFORMING_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
  }

  readonly #requestChildren = new Map<string, { inc(): void }>();
  #durationChildren: Record<'allow' | 'deny', { observe(value: number): void }> | undefined;

  /**
   * Counts one decided request. The per-request path binds label children once and reuses them:
   * prom-client hashes the label object on every call otherwise.
   */
  recordRequest(decision: 'allow' | 'deny', reason: string, seconds: number): void {
    const key = `${decision} ${reason}`;
    let counter = this.#requestChildren.get(key);
    if (counter === undefined) {
      counter = this.requests.labels({ decision, reason });
      this.#requestChildren.set(key, counter);
    }
    counter.inc();
    this.#durationChildren ??= {
      allow: this.requestDuration.labels({ decision: 'allow' }),
      deny: this.requestDuration.labels({ decision: 'deny' }),
    };
    this.#durationChildren[decision].observe(seconds);
  }

  /** Text exposition format (what Prometheus scrapes). */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
