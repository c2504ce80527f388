/**
 * A keyed work queue in the manner of client-go's: a key waits in the queue at most once, at most
 * one reconcile per key runs at a time (a key added while it runs is processed again afterwards),
 * failures requeue with per-key exponential backoff, and successes may ask to be requeued later.
 */
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { realTimers, type Timers } from './timers.js';

/** What a reconcile returns: nothing, or when to look at the key again. */
export type ReconcileResult = void | { requeueAfterMs?: number };

export interface WorkQueueOptions {
  /** Reconciles one key; a rejection requeues it with backoff. */
  handler: (key: string) => Promise<ReconcileResult>;
  /** Distinct keys processed at the same time. */
  concurrency: number;
  /** Backoff of a key that keeps failing. */
  backoff: BackoffPolicy;
  timers?: Timers;
  random?: () => number;
  onError?: (key: string, error: unknown, failures: number) => void;
  onDepthChange?: (depth: number) => void;
}

export class WorkQueue {
  private readonly order: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { at: number; handle: unknown }>();
  private readonly failures = new Map<string, number>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly timers: Timers;
  private readonly random: () => number;
  private running = false;
  private shutDown = false;

  constructor(private readonly options: WorkQueueOptions) {
    this.timers = options.timers ?? realTimers;
    this.random = options.random ?? Math.random;
  }

  /** Keys waiting to be processed (not counting delayed ones or ones in flight). */
  get depth(): number {
    return this.order.length;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  start(): void {
    if (this.shutDown) return;
    this.running = true;
    this.pump();
  }

  add(key: string): void {
    if (this.shutDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.options.onDepthChange?.(this.order.length);
    this.pump();
  }

  /** Adds the key after `ms`; an earlier pending add of the same key wins over a later one. */
  addAfter(key: string, ms: number): void {
    if (this.shutDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.timers.now() + ms;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      this.timers.clearTimeout(pending.handle);
    }
    const handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    this.delayed.set(key, { at, handle });
  }

  /** Forgets a key's failure history (after it was deleted, for example). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Resolves once nothing is queued or in flight (delayed keys do not count). */
  whenIdle(): Promise<void> {
    if (this.order.length === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking work, drops delayed keys and waits for reconciles in flight. */
  async stop(): Promise<void> {
    this.shutDown = true;
    this.running = false;
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    this.order.length = 0;
    this.queued.clear();
    this.dirty.clear();
    this.options.onDepthChange?.(0);
    await this.whenIdle();
  }

  private pump(): void {
    while (this.running && this.processing.size < this.options.concurrency && this.order.length > 0) {
      const key = this.order.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      this.options.onDepthChange?.(this.order.length);
      void this.process(key);
    }
    this.notifyIfIdle();
  }

  private async process(key: string): Promise<void> {
    try {
      const result = await this.options.handler(key);
      this.failures.delete(key);
      if (result && result.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      this.options.onError?.(key, error, failures);
      this.addAfter(key, backoffDelay(this.options.backoff, failures, this.random()));
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }

  private notifyIfIdle(): void {
    if (this.order.length > 0 || this.processing.size > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
