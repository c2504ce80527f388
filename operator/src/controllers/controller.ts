/**
 * A named controller: a work queue whose handler is a reconcile function, with a `{controller, key}`
 * child logger, metrics per result, and backoff on failure. Keys are `namespace/name`.
 */
import type { Logger } from 'pino';
import { WorkQueue, type ReconcileResult } from '../kube/workqueue.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';

export type Reconcile = (key: string, log: Logger) => Promise<ReconcileResult>;

export interface Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  enqueue(key: string): void;
  enqueueAfter(key: string, ms: number): void;
}

export function createController(options: {
  name: string;
  reconcile: Reconcile;
  log: Logger;
  metrics: OperatorMetrics;
  concurrency?: number;
}): Controller {
  const { name, metrics } = options;
  const log = options.log.child({ controller: name });
  const queue = new WorkQueue({
    concurrency: options.concurrency ?? 4,
    backoff: { initialMs: 500, maxMs: 300_000 },
    handler: async (key) => {
      const end = metrics.reconcileDuration.startTimer({ controller: name });
      try {
        const result = await options.reconcile(key, log.child({ key }));
        metrics.reconciles.inc({ controller: name, result: 'success' });
        return result;
      } catch (error) {
        metrics.reconciles.inc({ controller: name, result: 'error' });
        throw error;
      } finally {
        end();
      }
    },
    onError: (key, error, failures) =>
      log.warn({ key, err: error, failures }, 'reconcile failed; will retry'),
    onDepthChange: (depth) => metrics.queueDepth.set({ controller: name }, depth),
  });
  return {
    name,
    queue,
    enqueue: (key) => queue.add(key),
    enqueueAfter: (key, ms) => queue.addAfter(key, ms),
  };
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
