/**
 * Keeps every sidecar on its current config bundle. One loop ("pass"), debounced and never
 * concurrent with itself: render the bundles from the caches when something changed, plan (pure),
 * sign bundles that need a new revision, hand probes and pushes to a bounded pool of workers. Every
 * answer updates what that sidecar runs and schedules another pass; retries back off per pod, and
 * every sidecar is asked again after `antiEntropyMs` to repair drift nobody told us about.
 */
import type { SidecarConfig, Tenant } from '../../../sidecar/src/config/contract.js';
import { renderBundles, type NamespaceResources, type RenderedGroup } from '../bundles/render.js';
import { backoffDelay, type BackoffPolicy } from '../kube/backoff.js';
import { realTimers, type Timers } from '../kube/timers.js';
import { newPodSync, planPushes, type PodSync, type PushAction } from './plan.js';
import type { SidecarClient } from './sidecar-client.js';
import type { SidecarEndpoint } from './sidecar-pods.js';

/** How long answers from sidecars are batched before the next pass looks at them. */
const ANSWER_BATCH_MS = 20;

export interface DistributionSources {
  /** Effective resources per namespace (with keys). */
  resources: Map<string, NamespaceResources>;
  /** Namespaces whose keys are not known yet (first fetch pending): their bundles are not rebuilt. */
  held: Set<string>;
  targets: SidecarEndpoint[];
}

export interface DistributorMetrics {
  request(kind: 'probe' | 'push', result: string): void;
  sidecars(inSync: number, outOfSync: number): void;
  propagation(seconds: number): void;
  revision(revision: number): void;
}

export interface DistributorLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DistributorOptions {
  tenant: Tenant;
  collect: () => DistributionSources;
  allocator: { allocate(): Promise<number>; observe(revision: number): void };
  sign: (config: SidecarConfig) => Promise<string>;
  client: SidecarClient;
  concurrency: number;
  antiEntropyMs: number;
  backoff?: BackoffPolicy;
  timers?: Timers;
  log?: DistributorLog;
  metrics?: DistributorMetrics;
  /** Some sidecar of this namespace changed what it runs (for ApiRole status). */
  onProgress?: (namespace: string) => void;
}

interface Group extends RenderedGroup {
  revision: number;
  jws: string | undefined;
  /** When the change that produced this content was observed; cleared once every pod runs it. */
  pendingSince: number | undefined;
}

export interface RoleSidecars {
  selected: number;
  current: number;
  revision?: number;
}

export class Distributor {
  private groups = new Map<string, Group>();
  private podGroups = new Map<string, string>();
  private endpoints = new Map<string, SidecarEndpoint>();
  private readonly sync = new Map<string, PodSync>();
  private readonly queue: PushAction[] = [];
  private readonly timers: Timers;
  private inFlight = 0;
  private renderNeeded = true;
  private changeObservedAt: number | undefined;
  private running = false;
  private passing = false;
  private passAgain = false;
  private passScheduled = false;
  private wakeTimer: unknown;
  private wakeAt: number | undefined;
  private drained: (() => void)[] = [];
  private answerTimer: unknown;

  constructor(private readonly options: DistributorOptions) {
    this.timers = options.timers ?? realTimers;
  }

  start(): void {
    this.running = true;
    this.renderNeeded = true;
    this.schedulePass();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timers.clearTimeout(this.wakeTimer);
    this.timers.clearTimeout(this.answerTimer);
    this.answerTimer = undefined;
    for (const action of this.queue.splice(0)) {
      const state = this.sync.get(action.uid);
      if (state) state.busy = false;
    }
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** Resources, keys or pods changed: rebuild bundles on the next pass. */
  invalidate(observedAt: number = this.timers.now()): void {
    this.renderNeeded = true;
    this.changeObservedAt =
      this.changeObservedAt === undefined ? observedAt : Math.min(this.changeObservedAt, observedAt);
    this.schedulePass();
  }

  /** How the sidecars of a namespace stand with respect to one role (by metadata.name). */
  roleSidecars(namespace: string, roleName: string): RoleSidecars {
    let selected = 0;
    let current = 0;
    let revision: number | undefined;
    for (const [uid, key] of this.podGroups) {
      const group = this.groups.get(key);
      if (!group || group.namespace !== namespace || !group.roleNames.includes(roleName)) continue;
      selected += 1;
      if (this.sync.get(uid)?.ack?.digest === group.digest) current += 1;
      if (group.revision > 0) revision = Math.max(revision ?? 0, group.revision);
    }
    return revision === undefined ? { selected, current } : { selected, current, revision };
  }

  /** For tests and debugging: what each known sidecar runs. */
  snapshot(): {
    uid: string;
    groupKey: string | undefined;
    digest: string | undefined;
    revision: number | undefined;
  }[] {
    return [...this.endpoints.keys()].map((uid) => {
      const ack = this.sync.get(uid)?.ack;
      return { uid, groupKey: this.podGroups.get(uid), digest: ack?.digest, revision: ack?.revision };
    });
  }

  /**
   * Changes get a pass on the next tick. Answers from sidecars arrive by the hundred during a rollout
   * and each pass walks every pod, so those are batched: at most one pass per `answerBatchMs`.
   */
  private schedulePass(afterAnswer = false): void {
    if (!this.running) return;
    if (afterAnswer) {
      if (this.answerTimer !== undefined) return;
      this.answerTimer = this.timers.setTimeout(() => {
        this.answerTimer = undefined;
        this.schedulePass();
      }, ANSWER_BATCH_MS);
      return;
    }
    if (this.passing) {
      this.passAgain = true;
      return;
    }
    if (this.passScheduled) return;
    this.passScheduled = true;
    setImmediate(() => {
      this.passScheduled = false;
      void this.pass();
    });
  }

  private async pass(): Promise<void> {
    if (!this.running || this.passing) return;
    this.passing = true;
    try {
      if (this.renderNeeded) this.render();
      await this.planAndDispatch();
    } catch (error) {
      this.options.log?.warn({ err: error }, 'config distribution pass failed; retrying');
      this.wake(this.timers.now() + 1000);
    } finally {
      this.passing = false;
      if (this.passAgain) {
        this.passAgain = false;
        this.schedulePass();
      }
    }
  }

  private render(): void {
    this.renderNeeded = false;
    const observedAt = this.changeObservedAt ?? this.timers.now();
    this.changeObservedAt = undefined;
    const sources = this.options.collect();
    const now = new Date(this.timers.now());
    const rendered = renderBundles(
      this.options.tenant,
      sources.resources,
      sources.targets.filter((t) => !sources.held.has(t.namespace)),
      now,
    );
    const groups = new Map<string, Group>();
    for (const [key, fresh] of rendered.groups) {
      const old = this.groups.get(key);
      groups.set(
        key,
        old && old.digest === fresh.digest
          ? old
          : { ...fresh, revision: 0, jws: undefined, pendingSince: observedAt },
      );
    }
    // Namespaces on hold keep the bundles they had until their keys are known.
    for (const target of sources.targets) {
      if (!sources.held.has(target.namespace)) continue;
      const key = this.podGroups.get(target.uid);
      const old = key === undefined ? undefined : this.groups.get(key);
      if (key !== undefined && old) {
        groups.set(key, old);
        rendered.podGroups.set(target.uid, key);
      }
    }
    const endpoints = new Map(
      sources.targets.filter((t) => rendered.podGroups.has(t.uid)).map((t) => [t.uid, t]),
    );
    for (const uid of this.sync.keys()) if (!endpoints.has(uid)) this.sync.delete(uid);
    for (const [uid, endpoint] of endpoints) {
      const before = this.endpoints.get(uid);
      // A new IP or a restarted sidecar container: what it runs must be asked again.
      if (before && before.incarnation !== endpoint.incarnation) this.sync.set(uid, newPodSync());
    }
    this.groups = groups;
    this.podGroups = rendered.podGroups;
    this.endpoints = endpoints;
  }

  private async planAndDispatch(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      const now = this.timers.now();
      const desired = [...this.podGroups].map(([uid, groupKey]) => ({ uid, groupKey }));
      const plan = planPushes(desired, this.groups, this.sync, now, this.options.antiEntropyMs);
      if (plan.needRevision.length > 0 && round < 2) {
        await Promise.all(plan.needRevision.map((key) => this.signGroup(key)));
        continue;
      }
      this.options.metrics?.sidecars(plan.inSync, plan.outOfSync);
      this.checkPropagation(now);
      for (const action of plan.actions) {
        const state = this.stateOf(action.uid);
        state.busy = true;
        this.queue.push(action);
      }
      this.drain();
      if (plan.nextWakeAt !== undefined) this.wake(plan.nextWakeAt);
      return;
    }
  }

  private async signGroup(key: string): Promise<void> {
    const group = this.groups.get(key);
    if (!group) return;
    const revision = await this.options.allocator.allocate();
    const config: SidecarConfig = {
      ...group.config,
      revision,
      generatedAt: new Date(this.timers.now()).toISOString(),
    };
    const jws = await this.options.sign(config);
    if (this.groups.get(key) !== group) return; // replaced by a newer render meanwhile
    group.revision = revision;
    group.jws = jws;
    this.options.metrics?.revision(revision);
    this.options.log?.debug({ group: key, revision, digest: group.digest }, 'signed config bundle');
  }

  private stateOf(uid: string): PodSync {
    let state = this.sync.get(uid);
    if (!state) {
      state = newPodSync();
      this.sync.set(uid, state);
    }
    return state;
  }

  private drain(): void {
    while (this.running && this.inFlight < this.options.concurrency && this.queue.length > 0) {
      const action = this.queue.shift() as PushAction;
      this.inFlight += 1;
      void this.execute(action).finally(() => {
        this.inFlight -= 1;
        if (this.inFlight === 0) for (const resolve of this.drained.splice(0)) resolve();
        this.drain();
        this.schedulePass(true);
      });
    }
  }

  private async execute(action: PushAction): Promise<void> {
    const endpoint = this.endpoints.get(action.uid);
    const state = this.sync.get(action.uid);
    if (!endpoint || !state) return;
    const still = () => this.sync.get(action.uid) === state;
    const before = state.ack;
    try {
      if (action.kind === 'probe') {
        const outcome = await this.options.client.probe(endpoint.adminUrl);
        this.options.metrics?.request('probe', outcome.kind);
        if (!still()) return;
        if (outcome.kind === 'error') return this.failed(state, endpoint, 'probe', outcome.message);
        state.ack =
          outcome.kind === 'config'
            ? { revision: outcome.revision, digest: outcome.digest }
            : { revision: 0, digest: undefined };
        if (outcome.kind === 'config') this.options.allocator.observe(outcome.revision);
        this.succeeded(state);
        return;
      }
      const group = this.groups.get(this.podGroups.get(action.uid) ?? '');
      if (!group || group.jws === undefined) return;
      if (state.ack && (state.ack.digest === group.digest || group.revision <= state.ack.revision)) return;
      const outcome = await this.options.client.push(endpoint.adminUrl, group.jws);
      this.options.metrics?.request('push', outcome.kind);
      if (!still()) return;
      switch (outcome.kind) {
        case 'applied':
          state.ack = { revision: group.revision, digest: group.digest };
          this.succeeded(state);
          return;
        case 'stale':
          // It runs something at least as new that we did not know of: ask what, then outbid it.
          state.ack = undefined;
          state.failures += 1;
          state.retryAt = state.failures > 1 ? this.timers.now() + this.delay(state.failures - 1) : 0;
          return;
        case 'rejected':
          return this.failed(
            state,
            endpoint,
            'push',
            `sidecar refused the bundle (${outcome.status}): ${outcome.message}`,
          );
        case 'error':
          return this.failed(state, endpoint, 'push', outcome.message);
      }
    } finally {
      state.busy = false;
      const changed = before?.digest !== state.ack?.digest || before?.revision !== state.ack?.revision;
      if (changed && still()) this.options.onProgress?.(endpoint.namespace);
    }
  }

  private succeeded(state: PodSync): void {
    state.verifiedAt = this.timers.now();
    state.failures = 0;
    state.retryAt = 0;
  }

  private failed(state: PodSync, endpoint: SidecarEndpoint, kind: string, message: string): void {
    state.failures += 1;
    state.retryAt = this.timers.now() + this.delay(state.failures);
    const log = state.failures === 1 || state.failures % 10 === 0 ? 'warn' : 'debug';
    this.options.log?.[log](
      { pod: `${endpoint.namespace}/${endpoint.name}`, kind, failures: state.failures, error: message },
      'sidecar request failed; will retry',
    );
  }

  private delay(failures: number): number {
    return backoffDelay(this.options.backoff ?? { initialMs: 500, maxMs: 30_000 }, failures);
  }

  private checkPropagation(now: number): void {
    const pending = [...this.groups.values()].filter((g) => g.pendingSince !== undefined);
    if (pending.length === 0) return;
    const lagging = new Set<string>();
    for (const [uid, key] of this.podGroups) {
      const group = this.groups.get(key);
      if (group?.pendingSince !== undefined && this.sync.get(uid)?.ack?.digest !== group.digest)
        lagging.add(key);
    }
    for (const group of pending) {
      if (lagging.has(group.key)) continue;
      this.options.metrics?.propagation((now - (group.pendingSince as number)) / 1000);
      group.pendingSince = undefined;
    }
  }

  private wake(at: number): void {
    if (!this.running) return;
    if (this.wakeAt !== undefined && this.wakeAt <= at && this.wakeAt > this.timers.now()) return;
    this.timers.clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.timers.setTimeout(
      () => {
        this.wakeAt = undefined;
        this.schedulePass();
      },
      Math.max(0, at - this.timers.now()),
    );
  }
}
