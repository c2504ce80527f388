/**
 * In a pod the operator owns the keys. When a token names a kid this sidecar's config lacks, it
 * tells the operator (`POST {operatorUrl}/v1/keys/refresh`), at most once per interval per server,
 * without waiting for an answer. The request that saw the unknown kid is still denied; the refreshed
 * keys arrive with the next pushed bundle.
 */
import type { Logger } from 'pino';
import type { SidecarMetrics } from '../telemetry/metrics.js';

export interface KeyRefreshNotifierDeps {
  operatorUrl: string;
  /** The namespace of the config in force (the operator's key for the server). */
  namespace: () => string | undefined;
  fetch: typeof globalThis.fetch;
  clock: () => Date;
  logger: Logger;
  metrics: SidecarMetrics;
  minIntervalMs: number;
  timeoutMs: number;
}

const MAX_KID_LENGTH = 256;

export class KeyRefreshNotifier {
  readonly #deps: KeyRefreshNotifierDeps;
  readonly #endpoint: string;
  readonly #lastSent = new Map<string, number>();
  readonly #pending = new Set<Promise<void>>();

  constructor(deps: KeyRefreshNotifierDeps) {
    this.#deps = deps;
    this.#endpoint = new URL(
      'v1/keys/refresh',
      deps.operatorUrl.endsWith('/') ? deps.operatorUrl : `${deps.operatorUrl}/`,
    ).href;
  }

  /** Fire and forget. Returns whether a request was sent (false when rate-limited). */
  notify(server: string, kid: string): boolean {
    const { clock, metrics } = this.#deps;
    const now = clock().getTime();
    const last = this.#lastSent.get(server);
    if (last !== undefined && now - last < this.#deps.minIntervalMs) {
      metrics.keyRefreshRequests.inc({ result: 'rate_limited' });
      return false;
    }
    // Bounded: one entry per server of the config, plus whatever names tokens claim (cleared when large).
    if (this.#lastSent.size > 1024) this.#lastSent.clear();
    this.#lastSent.set(server, now);
    const sending = this.#send(server, kid.slice(0, MAX_KID_LENGTH)).finally(() =>
      this.#pending.delete(sending),
    );
    this.#pending.add(sending);
    return true;
  }

  /** Waits for requests in flight (shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.#pending]);
  }

  async #send(server: string, kid: string): Promise<void> {
    const { fetch, logger, metrics } = this.#deps;
    try {
      const response = await fetch(this.#endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ namespace: this.#deps.namespace(), server, kid }),
        signal: AbortSignal.timeout(this.#deps.timeoutMs),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`the operator answered ${response.status}`);
      metrics.keyRefreshRequests.inc({ result: 'sent' });
      logger.info({ server }, 'asked the operator to refresh the keys of a server after an unknown kid');
    } catch (error) {
      metrics.keyRefreshRequests.inc({ result: 'failed' });
      logger.warn(
        { server, error: (error as Error).message },
        'asking the operator for a key refresh failed',
      );
    }
  }
}
