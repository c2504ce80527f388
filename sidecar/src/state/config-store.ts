/**
 * The config in force and its compiled form, swapped atomically. Updates are serialized, so two
 * pushes racing cannot both pass the "newer revision" check, and a request always sees one whole
 * config (never the servers of one revision with the roles of another).
 */
import { configDigest } from '../config/from-resources.js';
import type { SidecarConfig } from '../config/contract.js';
import { compileConfig, type CompiledConfig } from '../pipeline/decide.js';
import type { TokenCache } from '../pipeline/token-cache.js';
import { CountingTokenCache } from './counting-token-cache.js';
import type { ConfigSource, SidecarMetrics } from '../telemetry/metrics.js';

export interface ActiveConfig {
  config: SidecarConfig;
  compiled: CompiledConfig;
  /** Verified tokens; the cache empties itself on first use with a newer compiled config. */
  tokenCache: TokenCache;
  /** Role name → admin ID, for the identity header and the audit record. */
  adminIdByRole: ReadonlyMap<string, string>;
  /** AuthorizationServer name (what decisions name) → `namespace/name` (what logs, metrics and audit show). */
  serverIdByName: ReadonlyMap<string, string>;
  digest: string;
  appliedAt: Date;
  source: ConfigSource;
}

export type ApplyResult =
  { applied: true; active: ActiveConfig } | { applied: false; reason: 'stale'; currentRevision: number };

export interface ApplyOptions {
  source: ConfigSource;
  /** Refuse a revision not newer than the one in force (pushed bundles: no rollback, no replay). */
  requireNewer: boolean;
  /** Runs after compiling and before the swap, inside the serialized section (persisting a bundle). */
  beforeSwap?: (config: SidecarConfig) => Promise<void>;
}

export interface ConfigStoreDeps {
  metrics: SidecarMetrics;
  clock: () => Date;
  tokenCacheEntries: number;
}

export class ConfigStore {
  #active: ActiveConfig | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #deps: ConfigStoreDeps;
  readonly #tokenCache: TokenCache;

  constructor(deps: ConfigStoreDeps) {
    this.#deps = deps;
    this.#tokenCache = new CountingTokenCache(deps.tokenCacheEntries, deps.metrics);
  }

  /** The config in force, or undefined before the first one (requests then get 503). */
  get current(): ActiveConfig | undefined {
    return this.#active;
  }

  get revision(): number {
    return this.#active?.config.revision ?? 0;
  }

  /** Compiles and swaps in `config`; rejects when it cannot be compiled (the old one stays). */
  apply(config: SidecarConfig, options: ApplyOptions): Promise<ApplyResult> {
    const run = this.#queue.then(() => this.#apply(config, options));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(config: SidecarConfig, options: ApplyOptions): Promise<ApplyResult> {
    const { metrics, clock } = this.#deps;
    if (
      options.requireNewer &&
      this.#active !== undefined &&
      config.revision <= this.#active.config.revision
    ) {
      return { applied: false, reason: 'stale', currentRevision: this.#active.config.revision };
    }
    const stopTimer = metrics.configApplyDuration.startTimer();
    const compiled = await compileConfig(config);
    await options.beforeSwap?.(config);
    const active: ActiveConfig = {
      config,
      compiled,
      tokenCache: this.#tokenCache,
      adminIdByRole: new Map(config.roles.map((role) => [role.roleName, role.adminId])),
      serverIdByName: new Map(
        config.authorizationServers.map((server) => [server.name, serverLabel(server)]),
      ),
      digest: configDigest(config),
      appliedAt: clock(),
      source: options.source,
    };
    this.#active = active;
    stopTimer();
    this.#publish(active);
    return { applied: true, active };
  }

  #publish(active: ActiveConfig): void {
    const { metrics } = this.#deps;
    metrics.configRevision.set(active.config.revision);
    metrics.configAppliedTimestamp.set(active.appliedAt.getTime() / 1000);
    metrics.serverKeys.reset();
    for (const server of active.config.authorizationServers) {
      metrics.serverKeys.set({ server: serverLabel(server) }, server.keys.keys.length);
    }
  }
}

/** `namespace/name`, or `name` for a standalone resource without a namespace. */
export function serverLabel(server: { name: string; namespace?: string }): string {
  return server.namespace === undefined ? server.name : `${server.namespace}/${server.name}`;
}
