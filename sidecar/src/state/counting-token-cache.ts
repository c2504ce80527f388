/** The pipeline's TokenCache, counting hits and misses into the sidecar's metrics. */
import { TokenCache, type VerifiedIdentity } from '../pipeline/token-cache.js';
import type { SidecarMetrics } from '../telemetry/metrics.js';

export class CountingTokenCache extends TokenCache {
  readonly #metrics: SidecarMetrics;

  constructor(maxEntries: number, metrics: SidecarMetrics) {
    super({ maxEntries });
    this.#metrics = metrics;
  }

  override get(owner: object, token: string, now: Date): VerifiedIdentity | undefined {
    const identity = super.get(owner, token, now);
    (identity === undefined ? this.#metrics.tokenCacheMisses : this.#metrics.tokenCacheHits).inc();
    return identity;
  }
}
