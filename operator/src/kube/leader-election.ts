/**
 * Leader election over a coordination.k8s.io/v1 Lease, as client-go does it (client-node has none).
 * Every write carries the resourceVersion it read, so two candidates can never both win a round.
 * A standby never trusts the Lease's timestamps (clocks differ between nodes): it takes over only
 * when it has seen the same Lease record unchanged for a whole lease duration on its own clock.
 * The leader renews every retry period and steps down if it could not renew within the renew
 * deadline, which is shorter than the lease duration, so two leaders never overlap.
 */
import { isConflict, isNotFound, type KubeClient } from './client.js';
import { realTimers, type Timers } from './timers.js';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

export interface Observation {
  /** The record as last seen (serialised, for comparison). */
  record: string;
  /** Our clock when we first saw this exact record. */
  at: number;
}

export type LeaseAction =
  | { action: 'create' }
  | { action: 'renew' }
  | { action: 'acquire' }
  | { action: 'wait'; holder: string; expiresAt: number };

/** Pure: what to do with the Lease as read now; also returns the updated observation. */
export function decideLease(input: {
  lease: LeaseSpec | undefined;
  identity: string;
  now: number;
  observed: Observation | undefined;
  leaseDurationMs: number;
}): { decision: LeaseAction; observed: Observation | undefined } {
  const { lease, identity, now } = input;
  if (lease === undefined) return { decision: { action: 'create' }, observed: undefined };
  const record = JSON.stringify([
    lease.holderIdentity ?? '',
    lease.renewTime ?? '',
    lease.acquireTime ?? '',
    lease.leaseTransitions ?? 0,
  ]);
  const observed = input.observed?.record === record ? input.observed : { record, at: now };
  const holder = lease.holderIdentity ?? '';
  if (holder === identity) return { decision: { action: 'renew' }, observed };
  if (holder === '') return { decision: { action: 'acquire' }, observed };
  const durationMs =
    (lease.leaseDurationSeconds ?? 0) > 0
      ? (lease.leaseDurationSeconds as number) * 1000
      : input.leaseDurationMs;
  const expiresAt = observed.at + durationMs;
  if (now < expiresAt) return { decision: { action: 'wait', holder, expiresAt }, observed };
  return { decision: { action: 'acquire' }, observed };
}

/** metav1.MicroTime */
export const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  timers?: Timers;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onNewLeader?: (identity: string) => void;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export class LeaderElector {
  private leading = false;
  private running = false;
  private observed: Observation | undefined;
  private lastRenewAt = 0;
  private timer: unknown;
  private current: Promise<void> = Promise.resolve();
  private lastHolder: string | undefined;
  private readonly timers: Timers;
  private readonly path: string;

  constructor(private readonly options: LeaderElectorOptions) {
    this.timers = options.timers ?? realTimers;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases/${options.name}`;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.running = true;
    this.tick();
  }

  /** Stops campaigning; a leader releases the Lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    this.timers.clearTimeout(this.timer);
    await this.current;
    if (this.leading) {
      this.leading = false;
      await this.release().catch((e) => this.options.log?.warn({ err: e }, 'could not release the lease'));
      this.options.onStoppedLeading();
    }
  }

  private tick(): void {
    if (!this.running) return;
    this.current = this.attempt().finally(() => {
      if (!this.running) return;
      // Standbys spread out a little so they do not all hit the API server in the same instant.
      const jitter = this.leading ? 1 : 1 + Math.random() * 0.2;
      this.timer = this.timers.setTimeout(() => this.tick(), this.options.retryPeriodMs * jitter);
    });
  }

  private async attempt(): Promise<void> {
    const { client, identity } = this.options;
    const now = this.timers.now();
    try {
      let lease: Lease | undefined;
      try {
        lease = await client.request<Lease>('GET', this.path, { timeoutMs: this.options.retryPeriodMs * 2 });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      const { decision, observed } = decideLease({
        lease: lease ? (lease.spec ?? {}) : undefined,
        identity,
        now,
        observed: this.observed,
        leaseDurationMs: this.options.leaseDurationMs,
      });
      this.observed = observed;
      const holder = lease?.spec?.holderIdentity ?? '';
      if (holder !== '' && holder !== this.lastHolder) {
        this.lastHolder = holder;
        this.options.onNewLeader?.(holder);
      }
      if (decision.action === 'wait') {
        if (this.leading) this.stepDown(`the lease is held by ${decision.holder}`);
        return;
      }
      const spec: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
        renewTime: microTime(now),
        acquireTime:
          decision.action === 'renew' ? (lease?.spec?.acquireTime ?? microTime(now)) : microTime(now),
        leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (decision.action === 'acquire' ? 1 : 0),
      };
      if (decision.action === 'create') {
        await client.request(
          'POST',
          `/apis/coordination.k8s.io/v1/namespaces/${this.options.namespace}/leases`,
          {
            body: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name: this.options.name, namespace: this.options.namespace },
              spec,
            },
            timeoutMs: this.options.retryPeriodMs * 2,
          },
        );
      } else {
        await client.request('PUT', this.path, {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { ...lease!.metadata },
            spec,
          },
          timeoutMs: this.options.retryPeriodMs * 2,
        });
      }
      this.lastRenewAt = now;
      if (!this.leading && this.running) {
        this.leading = true;
        this.lastHolder = identity;
        this.options.log?.info(
          { lease: `${this.options.namespace}/${this.options.name}`, identity },
          'became the leader',
        );
        this.options.onStartedLeading();
      }
    } catch (error) {
      if (!isConflict(error)) this.options.log?.warn({ err: error }, 'lease attempt failed');
      this.checkDeadline(now);
    }
  }

  /** A leader that could not renew within the deadline must stop acting before a standby starts. */
  private checkDeadline(now: number): void {
    if (!this.leading) return;
    if (now - this.lastRenewAt < this.options.renewDeadlineMs) return;
    this.stepDown(`could not renew for ${now - this.lastRenewAt}ms`);
  }

  private stepDown(why: string): void {
    this.leading = false;
    this.options.log?.warn({ why }, 'lost the lease');
    this.options.onStoppedLeading();
  }

  private async release(): Promise<void> {
    const lease = await this.options.client.request<Lease>('GET', this.path);
    if (lease.spec?.holderIdentity !== this.options.identity) return;
    await this.options.client.request('PUT', this.path, {
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: lease.metadata,
        spec: {
          ...lease.spec,
          holderIdentity: null,
          leaseDurationSeconds: 1,
          renewTime: microTime(this.timers.now()),
        },
      },
    });
  }
}
