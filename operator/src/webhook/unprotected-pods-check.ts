/**
 * The leader's periodic check for opted-in pods without the sidecar: lists the opted-in pods (by pod
 * label, and every pod of a labelled namespace), sets `scopegate_operator_unprotected_pods` and
 * records a Warning Event on each such pod (again every `repeatAfterMs` while it stays unprotected).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import type { KubeClient } from '../kube/client.js';
import type { EventRecorder } from '../kube/events.js';
import type { Timers } from '../kube/timers.js';
import { INJECT_LABEL } from './labels.js';
import { findUnprotectedPods, planUnprotectedPodEvents, type UnprotectedPod } from './unprotected-pods.js';

export const UNPROTECTED_POD_EVENT_REASON = 'SidecarMissing';

export interface UnprotectedPodsCheckOptions {
  intervalMs: number;
  repeatAfterMs: number;
  excludedNamespaces: readonly string[];
}

export interface UnprotectedPodsCheckDeps {
  kube: KubeClient;
  events: EventRecorder;
  logger: Logger;
  gauge: Gauge;
  timers: Timers;
  isLeader(): boolean;
}

interface List<T> {
  items?: T[];
  metadata?: { continue?: string };
}

async function listAll<T>(kube: KubeClient, path: string, query: Record<string, string>): Promise<T[]> {
  const items: T[] = [];
  let next: string | undefined;
  do {
    const page: List<T> = await kube.request<List<T>>('GET', path, {
      query: { ...query, limit: '500', continue: next },
    });
    items.push(...(page.items ?? []));
    next = page.metadata?.continue || undefined;
  } while (next !== undefined);
  return items;
}

export class UnprotectedPodsCheck {
  private timer: unknown;
  private lastReported = new Map<string, number>();
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly options: UnprotectedPodsCheckOptions,
    private readonly deps: UnprotectedPodsCheckDeps,
  ) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.deps.timers.clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = this.deps.timers.setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.options.intervalMs);
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    if (!this.deps.isLeader()) {
      // Only the leader reports, so a sum over replicas counts each pod once.
      this.deps.gauge.set(0);
      this.lastReported.clear();
      return;
    }
    try {
      await this.check();
    } catch (error) {
      this.deps.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'unprotected pods check failed',
      );
    }
  }

  /** One check; exposed for tests. Resolves with the pods found. */
  async check(): Promise<UnprotectedPod[]> {
    const { kube } = this.deps;
    const selector = `${INJECT_LABEL}=true`;
    const namespaces = await listAll<{ metadata?: { name?: string; labels?: Record<string, string> } }>(
      kube,
      '/api/v1/namespaces',
      { labelSelector: selector },
    );
    const namespaceLabels = new Map(
      namespaces.map((ns) => [ns.metadata?.name ?? '', ns.metadata?.labels ?? {}]),
    );
    const running = { fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' };
    const pods = new Map<string, V1Pod>();
    const add = (list: V1Pod[]) => list.forEach((pod) => pods.set(pod.metadata?.uid ?? '', pod));
    add(await listAll<V1Pod>(kube, '/api/v1/pods', { ...running, labelSelector: selector }));
    for (const name of namespaceLabels.keys()) {
      add(await listAll<V1Pod>(kube, `/api/v1/namespaces/${encodeURIComponent(name)}/pods`, running));
    }
    const found = findUnprotectedPods([...pods.values()], namespaceLabels, this.options.excludedNamespaces);
    this.deps.gauge.set(found.length);
    const plan = planUnprotectedPodEvents(
      found,
      this.lastReported,
      this.deps.timers.now(),
      this.options.repeatAfterMs,
    );
    this.lastReported = plan.lastReported;
    for (const pod of plan.report) {
      this.deps.logger.warn(
        { pod: `${pod.namespace}/${pod.name}` },
        'opted-in pod runs without the scopegate sidecar',
      );
      this.deps.events.warning(
        { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
        UNPROTECTED_POD_EVENT_REASON,
        pod.message,
        'Check',
      );
    }
    return found;
  }
}
