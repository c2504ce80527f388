/**
 * Keeps the keys of every AuthorizationServer with a `jwks.uri` in standalone mode: fetched at start,
 * again every `refreshInterval`, sooner after a failure, and on demand when a token names an unknown
 * `kid` (at most once per cooldown per server, concurrent askers sharing one fetch). A failed fetch
 * never drops keys: the last good set stays in force until a new one arrives.
 */
import { canonicalJson } from '../config/canonical-json.js';
import type { Jwk } from '../../../crds/src/index.js';
import type { Logger } from 'pino';
import type { SidecarMetrics } from '../telemetry/metrics.js';
import { JwksFetchError } from './jwks-fetch.js';

export interface KeptServer {
  /** `namespace/name` or `name`: the metrics label and log field. */
  id: string;
  uri: string;
  caBundle?: string;
  refreshMs: number;
}

export interface KeySet {
  keys: Jwk[];
  fetchedAt: string;
}

export interface JwksKeeperDeps {
  fetchKeys(uri: string, caBundle?: string): Promise<Jwk[]>;
  /** Called after a background or unknown-kid fetch changed a server's keys; resolves once applied. */
  onKeysChanged(): Promise<void>;
  clock: () => Date;
  logger: Logger;
  metrics: SidecarMetrics;
  /** Minimum time between two unknown-kid fetches of one server. */
  unknownKidCooldownMs: number;
  /** Retry delay after a failed fetch (capped by the server's refresh interval). */
  retryAfterFailureMs: number;
}

interface Entry {
  server: KeptServer;
  current?: KeySet;
  lastAttemptAt: number;
  inflight?: Promise<boolean>;
  timer?: NodeJS.Timeout;
  deferred?: NodeJS.Timeout;
}

export class JwksKeeper {
  readonly #entries = new Map<string, Entry>();
  readonly #deps: JwksKeeperDeps;
  #closed = false;

  constructor(deps: JwksKeeperDeps) {
    this.#deps = deps;
  }

  /** The last good keys of a server, or undefined when none was ever fetched. */
  keysOf(id: string): KeySet | undefined {
    return this.#entries.get(id)?.current;
  }

  /**
   * Makes the kept servers match `servers`. New servers and servers whose uri or CA changed are
   * fetched now (awaited, so a (re)load starts with keys when the server is reachable).
   */
  async sync(servers: KeptServer[]): Promise<void> {
    const wanted = new Map(servers.map((s) => [s.id, s]));
    for (const [id, entry] of this.#entries) {
      if (!wanted.has(id)) {
        this.#stop(entry);
        this.#entries.delete(id);
      }
    }
    const fetches: Promise<unknown>[] = [];
    for (const server of servers) {
      const entry = this.#entries.get(server.id);
      if (
        entry !== undefined &&
        entry.server.uri === server.uri &&
        entry.server.caBundle === server.caBundle
      ) {
        if (entry.server.refreshMs !== server.refreshMs) {
          entry.server = server;
          this.#schedule(entry, server.refreshMs);
        }
        continue;
      }
      if (entry !== undefined) this.#stop(entry);
      const fresh: Entry = { server, lastAttemptAt: 0 };
      this.#entries.set(server.id, fresh);
      fetches.push(this.#fetch(fresh));
    }
    await Promise.all(fetches);
  }

  /**
   * A token named a kid the config lacks. Fetches now unless this server was fetched within the
   * cooldown (then one fetch is scheduled for when it ends). Resolves true when the keys changed
   * and the new config is in force, so the caller may decide the request again.
   */
  async refreshForUnknownKid(id: string): Promise<boolean> {
    const entry = this.#entries.get(id);
    if (entry === undefined || this.#closed) return false;
    if (entry.inflight !== undefined) return entry.inflight;
    const wait = entry.lastAttemptAt + this.#deps.unknownKidCooldownMs - this.#deps.clock().getTime();
    if (wait > 0) {
      entry.deferred ??= setTimeout(() => {
        entry.deferred = undefined;
        void this.#fetchInBackground(entry);
      }, wait).unref();
      return false;
    }
    return this.#fetchAndApply(entry);
  }

  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) this.#stop(entry);
    this.#entries.clear();
  }

  async #fetchInBackground(entry: Entry): Promise<void> {
    try {
      await this.#fetchAndApply(entry);
    } catch (error) {
      this.#deps.logger.error({ err: error, server: entry.server.id }, 'applying refreshed keys failed');
    }
  }

  /** Fetch; when the keys changed, rebuild the config before resolving. Shared by concurrent callers. */
  #fetchAndApply(entry: Entry): Promise<boolean> {
    entry.inflight ??= (async () => {
      try {
        const changed = await this.#fetchOnce(entry);
        if (changed && this.#entries.get(entry.server.id) === entry) await this.#deps.onKeysChanged();
        return changed;
      } finally {
        entry.inflight = undefined;
      }
    })();
    return entry.inflight;
  }

  /** A fetch whose result is applied by the caller (sync rebuilds the config itself). */
  #fetch(entry: Entry): Promise<boolean> {
    entry.inflight ??= this.#fetchOnce(entry).finally(() => {
      entry.inflight = undefined;
    });
    return entry.inflight;
  }

  async #fetchOnce(entry: Entry): Promise<boolean> {
    const { server } = entry;
    const { clock, logger, metrics } = this.#deps;
    entry.lastAttemptAt = clock().getTime();
    let changed = false;
    try {
      const keys = await this.#deps.fetchKeys(server.uri, server.caBundle);
      changed = entry.current === undefined || canonicalJson(entry.current.keys) !== canonicalJson(keys);
      entry.current = { keys, fetchedAt: clock().toISOString() };
      metrics.jwksFetches.inc({ server: server.id, result: 'success' });
      if (changed) logger.info({ server: server.id, keys: keys.length }, 'fetched new signing keys');
      this.#schedule(entry, server.refreshMs);
    } catch (error) {
      const kind = error instanceof JwksFetchError ? error.kind : 'network';
      metrics.jwksFetches.inc({ server: server.id, result: kind });
      logger.warn(
        { server: server.id, error: (error as Error).message, keptKeys: entry.current?.keys.length ?? 0 },
        'fetching signing keys failed; keeping the last good keys',
      );
      this.#schedule(entry, Math.min(server.refreshMs, this.#deps.retryAfterFailureMs));
    }
    return changed;
  }

  #schedule(entry: Entry, delayMs: number): void {
    if (this.#closed) return;
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      void this.#fetchInBackground(entry);
    }, delayMs).unref();
  }

  #stop(entry: Entry): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.deferred !== undefined) clearTimeout(entry.deferred);
    entry.timer = entry.deferred = undefined;
  }
}
