/**
 * An informer that does not go quiet. client-node's informer stops for good after any watch error
 * other than 410 and never relists, so a dropped connection can leave an operator blind forever
 * (the failure Pepr chased in its watch ADR). Here each watched path runs a reflector loop that:
 *  - lists (paged), then watches from the list's resourceVersion with bookmarks;
 *  - restarts after any error with exponential backoff, relisting first so no event is lost;
 *  - relists on a timer and diffs the result against its cache (missed deletes become deletes);
 *  - treats a watch with no bytes for longer than its server timeout as dead;
 *  - reports synced only once every path has completed its first full list.
 */
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { KubeApiError, type KubeClient, type WatchEvent } from './client.js';
import { realTimers, type Timers } from './timers.js';

export interface KubeObject {
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
  };
}

export type InformerEventType = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (type: InformerEventType, object: T, previous?: T) => void;

export interface InformerLog {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface InformerOptions<T extends KubeObject> {
  /** For logs and metrics, e.g. `pods`. */
  name: string;
  client: KubeClient;
  /** Collection paths, one per watched namespace, e.g. `/api/v1/pods` or `/api/v1/namespaces/a/pods`. */
  paths: string[];
  labelSelector?: string;
  /** Keeps only what the operator reads, so a cluster's worth of pods stays small in memory. */
  transform?: (object: Record<string, unknown>) => T;
  relistIntervalMs: number;
  /** Server-side watch timeout; each watch picks a value between this and twice this. */
  watchTimeoutSeconds?: number;
  backoff?: BackoffPolicy;
  pageSize?: number;
  timers?: Timers;
  log?: InformerLog;
  /** Called on every restart after an error, with the error; for metrics. */
  onRestart?: (error: unknown) => void;
  onRelist?: () => void;
}

export const objectKey = (o: KubeObject): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

interface ListResponse {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: Record<string, unknown>[];
}

class ExpiredError extends Error {}

export class Informer<T extends KubeObject> {
  private readonly store = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private readonly reflectors: Reflector<T>[];
  private readonly syncWaiters: (() => void)[] = [];

  constructor(readonly options: InformerOptions<T>) {
    this.reflectors = options.paths.map((path) => new Reflector(path, options, this));
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  get synced(): boolean {
    return this.reflectors.every((r) => r.hasSynced);
  }

  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): T[] {
    const all = [...this.store.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  start(): void {
    for (const r of this.reflectors) r.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
  }

  /** Forces every path to relist now (used after a long outage, and by tests). */
  relistNow(): void {
    for (const r of this.reflectors) r.relistNow();
  }

  /** @internal the reflectors' write path */
  upsert(object: T): void {
    const key = objectKey(object);
    const previous = this.store.get(key);
    if (previous && previous.metadata.resourceVersion === object.metadata.resourceVersion) return;
    this.store.set(key, object);
    this.emit(previous ? 'update' : 'add', object, previous);
  }

  /** @internal */
  remove(key: string): void {
    const previous = this.store.get(key);
    if (!previous) return;
    this.store.delete(key);
    this.emit('delete', previous);
  }

  /** @internal */
  notifySynced(): void {
    if (!this.synced) return;
    for (const resolve of this.syncWaiters.splice(0)) resolve();
  }

  private emit(type: InformerEventType, object: T, previous?: T): void {
    for (const h of this.handlers) {
      try {
        h(type, object, previous);
      } catch (error) {
        this.options.log?.warn({ informer: this.options.name, err: error }, 'informer handler threw');
      }
    }
  }
}

class Reflector<T extends KubeObject> {
  hasSynced = false;
  private readonly owned = new Set<string>();
  private resourceVersion: string | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private watchAbort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private relistTimer: unknown;
  private relistDue = true;
  private readonly timers: Timers;

  constructor(
    private readonly path: string,
    private readonly options: InformerOptions<T>,
    private readonly informer: Informer<T>,
  ) {
    this.timers = options.timers ?? realTimers;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timers.clearTimeout(this.relistTimer);
    this.watchAbort?.abort();
    this.wake?.();
    await this.loop;
  }

  relistNow(): void {
    this.relistDue = true;
    this.watchAbort?.abort();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (this.relistDue || this.resourceVersion === undefined) await this.relist();
        await this.watchOnce();
        failures = 0;
      } catch (error) {
        if (!this.running) break;
        this.resourceVersion = undefined; // relist after any failure: the watch may have missed events
        if (error instanceof ExpiredError) continue;
        failures += 1;
        const delay = backoffDelay(this.options.backoff ?? { initialMs: 500, maxMs: 30_000 }, failures);
        this.options.log?.warn(
          { informer: this.options.name, path: this.path, err: error, failures, retryInMs: delay },
          'list/watch failed; restarting',
        );
        this.options.onRestart?.(error);
        await this.sleep(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    const seen = new Set<string>();
    let resourceVersion: string | undefined;
    let continueToken: string | undefined;
    do {
      const page = await this.options.client.request<ListResponse>('GET', this.path, {
        query: {
          limit: this.options.pageSize ?? 500,
          continue: continueToken,
          labelSelector: this.options.labelSelector,
        },
      });
      for (const raw of page.items ?? []) {
        const object = this.toObject(raw);
        const key = objectKey(object);
        seen.add(key);
        this.owned.add(key);
        this.informer.upsert(object);
      }
      resourceVersion = page.metadata?.resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken !== undefined && this.running);
    for (const key of [...this.owned]) {
      if (!seen.has(key)) {
        this.owned.delete(key);
        this.informer.remove(key);
      }
    }
    this.resourceVersion = resourceVersion;
    this.relistDue = false;
    this.scheduleRelist();
    this.options.onRelist?.();
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.informer.notifySynced();
    }
    this.options.log?.debug({ informer: this.options.name, path: this.path, count: seen.size }, 'listed');
  }

  private scheduleRelist(): void {
    this.timers.clearTimeout(this.relistTimer);
    const jitter = 1 + Math.random() * 0.1;
    this.relistTimer = this.timers.setTimeout(() => this.relistNow(), this.options.relistIntervalMs * jitter);
  }

  private async watchOnce(): Promise<void> {
    const base = this.options.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.round(base * (1 + Math.random()));
    const abort = new AbortController();
    this.watchAbort = abort;
    try {
      await this.options.client.watch(
        this.path,
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds,
          labelSelector: this.options.labelSelector,
        },
        (event) => this.apply(event),
        { signal: abort.signal, idleTimeoutMs: (timeoutSeconds + 30) * 1000 },
      );
    } finally {
      this.watchAbort = undefined;
    }
  }

  private apply(event: WatchEvent): void {
    if (!this.running || this.watchAbort === undefined) return;
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; reason?: string; message?: string };
      if (status.code === 410 || status.reason === 'Expired' || status.reason === 'Gone') {
        throw new ExpiredError(status.message ?? 'resource version expired');
      }
      throw new KubeApiError(
        `watch ${this.path}: ${status.message ?? 'error event'}`,
        status.code ?? 0,
        status.reason,
      );
    }
    const rv = (event.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const object = this.toObject(event.object);
    const key = objectKey(object);
    if (event.type === 'DELETED') {
      this.owned.delete(key);
      this.informer.remove(key);
    } else {
      this.owned.add(key);
      this.informer.upsert(object);
    }
    if (rv) this.resourceVersion = rv;
  }

  private toObject(raw: Record<string, unknown>): T {
    return this.options.transform ? this.options.transform(raw) : (raw as unknown as T);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.timers.setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        this.timers.clearTimeout(handle);
        this.wake = undefined;
        resolve();
      };
    });
  }
}
