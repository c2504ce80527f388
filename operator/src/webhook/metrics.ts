/** The webhook's metrics, on the operator's private registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ReviewOutcome } from './admission-review.js';

/** `error` is a request that could not be answered (malformed review, exception). */
export type WebhookRequestResult = ReviewOutcome | 'error';

export interface WebhookMetrics {
  requests: Counter<'result'>;
  duration: Histogram;
  /** Unix time at which the serving certificate in use expires. */
  certificateExpiry: Gauge;
  unprotectedPods: Gauge;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const requests = new Counter({
    name: 'scopegate_operator_webhook_requests_total',
    help: 'Admission requests answered by the sidecar injection webhook, by result (injected, unchanged, skipped, rejected, error).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  for (const result of [
    'injected',
    'unchanged',
    'skipped',
    'rejected',
    'error',
  ] satisfies WebhookRequestResult[]) {
    requests.inc({ result }, 0);
  }
  return {
    requests,
    duration: new Histogram({
      name: 'scopegate_operator_webhook_request_duration_seconds',
      help: 'Time to answer one admission request.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    certificateExpiry: new Gauge({
      name: 'scopegate_operator_webhook_certificate_expiry_timestamp_seconds',
      help: 'When the webhook serving certificate in use expires (Unix time); 0 while none is loaded.',
      registers: [registry],
    }),
    unprotectedPods: new Gauge({
      name: 'scopegate_operator_unprotected_pods',
      help: 'Pods opted in to scopegate (label scopegate.io/inject) that run without the sidecar. Reported by the leader only.',
      registers: [registry],
    }),
  };
}
