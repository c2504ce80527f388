/** Exponential backoff with full jitter kept to the upper half, so retries from many keys spread out. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Multiplier per failure; default 2. */
  factor?: number;
}

/**
 * Delay before retry number `failures` (1 = first retry). `random` in [0, 1) is injected so tests
 * are deterministic; the delay lies in [d/2, d] where d = min(max, initial * factor^(failures-1)).
 */
export function backoffDelay(
  policy: BackoffPolicy,
  failures: number,
  random: number = Math.random(),
): number {
  const exponent = Math.max(0, failures - 1);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * (policy.factor ?? 2) ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}
