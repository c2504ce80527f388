/**
 * The keys of every AuthorizationServer with a `jwks.uri`: fetched on a schedule (the server's
 * refreshInterval), retried with backoff when the fetch fails, refetched early on request (a sidecar
 * met an unknown `kid`) at most once per `minRefreshIntervalMs`. The last good keys are kept through
 * failures: an identity provider that is down must not take every API down with it.
 */
import type { Jwk } from '../../../crds/src/index.js';
import { backoffDelay, type BackoffPolicy } from '../kube/backoff.js';
import { realTimers, type Timers } from '../kube/timers.js';
import type { JwksFetcher } from './fetch-jwks.js';

export interface KeySource {
  /** Identity of the AuthorizationServer object; keys never carry over to a recreated object. */
  uid: string;
  issuer: string;
  uri: string;
  caBundle?: string;
  refreshIntervalMs: number;
}

export interface KeyState {
  source: KeySource;
  /** The last good keys, if any fetch ever succeeded. */
  keys?: Jwk[];
  fetchedAt?: Date;
  /** Notes about keys that were dropped from the last good set. */
  dropped: string[];
  lastError?: { reason: string; message: string; at: Date };
  /** Failures since the last success. */
  failures: number;
  /** True once at least one fetch finished, successfully or not. */
  attempted: boolean;
}

export interface KeyStoreOptions {
  fetcher: JwksFetcher;
  timeoutMs: number;
  minRefreshIntervalMs: number;
  backoff?: BackoffPolicy;
  timers?: Timers;
  /** After every fetch; `keysChanged` when the trusted key set differs from before. */
  onFetched: (key: string, state: KeyState, keysChanged: boolean) => void;
  onResult?: (result: 'success' | 'failure') => void;
}

/** `scheduled`: fetched too recently to fetch now; the fetch runs as soon as the rate limit allows. */
export type RefreshAnswer = 'accepted' | 'scheduled' | 'unknown';

interface Entry {
  state: KeyState;
  timer: unknown;
  inFlight: boolean;
  lastStartedAt: number;
  /** A refetch was asked for while one was in flight. */
  again: boolean;
  /** When the pending timer fires, if one is pending. */
  dueAt?: number;
}

const sameSource = (a: KeySource, b: KeySource) =>
  a.uid === b.uid && a.issuer === b.issuer && a.uri === b.uri && a.caBundle === b.caBundle;

export function keySetsEqual(a: readonly Jwk[] | undefined, b: readonly Jwk[] | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export class KeyStore {
  private readonly entries = new Map<string, Entry>();
  private readonly timers: Timers;
  private stopped = false;

  constructor(private readonly options: KeyStoreOptions) {
    this.timers = options.timers ?? realTimers;
  }

  get(key: string): KeyState | undefined {
    return this.entries.get(key)?.state;
  }

  /** Starts or updates tracking; a new source (URI, CA, issuer, object) is fetched right away. */
  track(key: string, source: KeySource): KeyState {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      const created: Entry = {
        state: { source, dropped: [], failures: 0, attempted: false },
        timer: undefined,
        inFlight: false,
        lastStartedAt: 0,
        again: false,
      };
      this.entries.set(key, created);
      this.fetchNow(key, created);
      return created.state;
    }
    if (!sameSource(entry.state.source, source)) {
      // Keys stay trusted only while they belong to the same issuer of the same object.
      const keep = entry.state.source.uid === source.uid && entry.state.source.issuer === source.issuer;
      entry.state = keep
        ? { ...entry.state, source, failures: 0 }
        : { source, dropped: [], failures: 0, attempted: false };
      this.fetchNow(key, entry);
    } else if (entry.state.source.refreshIntervalMs !== source.refreshIntervalMs) {
      entry.state = { ...entry.state, source };
      if (!entry.inFlight && entry.state.lastError === undefined)
        this.schedule(key, entry, source.refreshIntervalMs);
    }
    return entry.state;
  }

  /** Seeds last good keys persisted by an earlier leader; ignored when the object or issuer differs. */
  seed(key: string, source: KeySource, keys: Jwk[], fetchedAt: Date): void {
    const entry = this.entries.get(key);
    if (entry === undefined || entry.state.keys !== undefined) return;
    if (entry.state.source.uid !== source.uid || entry.state.source.issuer !== source.issuer) return;
    entry.state = { ...entry.state, keys, fetchedAt };
  }

  untrack(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.timers.clearTimeout(entry.timer);
    this.entries.delete(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /**
   * A sidecar met an unknown kid: refetch now, or, when this server was fetched very recently, as
   * soon as the rate limit allows. Never dropped: a rotated key must reach sidecars in seconds.
   */
  requestRefresh(key: string): RefreshAnswer {
    const entry = this.entries.get(key);
    if (!entry) return 'unknown';
    if (entry.inFlight) {
      // The fetch under way may predate the rotation: fetch once more after it.
      entry.again = true;
      return 'scheduled';
    }
    const wait = entry.lastStartedAt + this.options.minRefreshIntervalMs - this.timers.now();
    if (wait > 0) {
      if (entry.dueAt === undefined || entry.dueAt > this.timers.now() + wait)
        this.schedule(key, entry, wait);
      return 'scheduled';
    }
    this.fetchNow(key, entry);
    return 'accepted';
  }

  stop(): void {
    this.stopped = true;
    for (const entry of this.entries.values()) this.timers.clearTimeout(entry.timer);
  }

  private schedule(key: string, entry: Entry, ms: number): void {
    this.timers.clearTimeout(entry.timer);
    entry.dueAt = undefined;
    if (this.stopped) return;
    entry.dueAt = this.timers.now() + ms;
    entry.timer = this.timers.setTimeout(() => this.fetchNow(key, entry), ms);
  }

  private fetchNow(key: string, entry: Entry): void {
    if (this.stopped) return;
    this.timers.clearTimeout(entry.timer);
    entry.dueAt = undefined;
    if (entry.inFlight) {
      entry.again = true;
      return;
    }
    entry.inFlight = true;
    entry.lastStartedAt = this.timers.now();
    const source = entry.state.source;
    void this.options
      .fetcher({
        uri: source.uri,
        timeoutMs: this.options.timeoutMs,
        ...(source.caBundle ? { caBundle: source.caBundle } : {}),
      })
      .then((outcome) => {
        entry.inFlight = false;
        // Tracking ended or the source changed meanwhile: this answer is about something else.
        if (this.entries.get(key) !== entry || !sameSource(entry.state.source, source) || this.stopped) {
          if (this.entries.get(key) === entry && entry.again) {
            entry.again = false;
            this.fetchNow(key, entry);
          }
          return;
        }
        const now = new Date(this.timers.now());
        const before = entry.state.keys;
        if (outcome.ok) {
          const { lastError: _dropped, ...rest } = entry.state;
          entry.state = {
            ...rest,
            keys: outcome.keys,
            fetchedAt: now,
            dropped: outcome.dropped,
            failures: 0,
            attempted: true,
          };
        } else {
          entry.state = {
            ...entry.state,
            lastError: { reason: outcome.reason, message: outcome.message, at: now },
            failures: entry.state.failures + 1,
            attempted: true,
          };
        }
        this.options.onResult?.(outcome.ok ? 'success' : 'failure');
        const interval = entry.state.source.refreshIntervalMs;
        const next = outcome.ok
          ? interval
          : Math.min(
              backoffDelay(this.options.backoff ?? { initialMs: 2000, maxMs: 300_000 }, entry.state.failures),
              interval,
            );
        if (entry.again) {
          entry.again = false;
          const wait = entry.lastStartedAt + this.options.minRefreshIntervalMs - this.timers.now();
          this.schedule(key, entry, Math.max(0, wait));
        } else {
          this.schedule(key, entry, next);
        }
        this.options.onFetched(key, entry.state, !keySetsEqual(before, entry.state.keys));
      });
  }
}
