/**
 * Standalone mode's config source: the resources file plus the keys this sidecar fetches itself.
 * Every successful (re)build becomes a new revision in the store; an invalid file or a build that
 * fails is refused, logged, counted, and the last good config stays in force.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { parseDuration, type AuthorizationServer, type Jwk } from '../../../crds/src/index.js';
import type { Tenant } from '../config/contract.js';
import { buildSidecarConfig } from '../config/from-resources.js';
import { SidecarStartupError } from '../errors.js';
import { serverLabel, type ConfigStore } from '../state/config-store.js';
import type { ConfigSource, SidecarMetrics } from '../telemetry/metrics.js';
import { watchFile, type FileWatcher } from './file-watcher.js';
import { JwksKeeper, type KeptServer } from './jwks-keeper.js';
import { parseResources, type Resources } from './resources-file.js';

export interface StandaloneOptions {
  resourcesFile: string;
  tenant: Tenant;
  forwardAuthorization: boolean;
  pollIntervalMs: number;
  unknownKidCooldownMs: number;
  retryAfterFailureMs: number;
}

export interface StandaloneDeps {
  store: ConfigStore;
  fetchKeys(uri: string, caBundle?: string): Promise<Jwk[]>;
  clock: () => Date;
  logger: Logger;
  metrics: SidecarMetrics;
}

const DEFAULT_REFRESH = '1h';

export class StandaloneConfigSource {
  readonly #options: StandaloneOptions;
  readonly #deps: StandaloneDeps;
  readonly #keeper: JwksKeeper;
  #resources: Resources | undefined;
  #fileDigest: string | undefined;
  #watcher: FileWatcher | undefined;
  /** Rebuilds run one at a time, so revisions are handed out in order. */
  #queue: Promise<unknown> = Promise.resolve();
  #revision = 0;

  constructor(options: StandaloneOptions, deps: StandaloneDeps) {
    this.#options = options;
    this.#deps = deps;
    this.#keeper = new JwksKeeper({
      fetchKeys: deps.fetchKeys,
      onKeysChanged: () => this.#rebuild('keys'),
      clock: deps.clock,
      logger: deps.logger,
      metrics: deps.metrics,
      unknownKidCooldownMs: options.unknownKidCooldownMs,
      retryAfterFailureMs: options.retryAfterFailureMs,
    });
  }

  /** Loads the file, fetches keys, applies revision 1 and starts watching; throws SidecarStartupError on a bad file. */
  async start(): Promise<void> {
    const file = this.#options.resourcesFile;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new SidecarStartupError(`cannot read --resources ${file}: ${(error as Error).message}`);
    }
    const parsed = parseResources(text, file);
    if (!parsed.ok) {
      this.#deps.metrics.configReloads.inc({ source: 'file', result: 'invalid' });
      throw new SidecarStartupError(`invalid resources file:\n  ${parsed.errors.join('\n  ')}`);
    }
    this.#resources = parsed.resources;
    this.#fileDigest = digest(text);
    await this.#keeper.sync(keptServers(parsed.resources.servers));
    try {
      await this.#rebuild('file', true);
    } catch (error) {
      throw new SidecarStartupError(`the resources do not make a usable config: ${(error as Error).message}`);
    }
    this.#watcher = watchFile(file, () => void this.reload(), {
      pollIntervalMs: this.#options.pollIntervalMs,
      debounceMs: 100,
      onError: (error) =>
        this.#deps.logger.warn({ error: error.message }, 'fs.watch failed; relying on polling'),
    });
  }

  /** What the proxy calls when a token names an unknown kid; true when a new config may know it. */
  refreshForUnknownKid(server: string): Promise<boolean> {
    return this.#keeper.refreshForUnknownKid(server);
  }

  /** Re-reads the file; applies it when it changed and is valid. Resolves true when a new config is in force. */
  async reload(): Promise<boolean> {
    const { logger, metrics } = this.#deps;
    const file = this.#options.resourcesFile;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      metrics.configReloads.inc({ source: 'file', result: 'invalid' });
      logger.error(
        { file, error: (error as Error).message },
        'cannot read the resources file; keeping the last good config',
      );
      return false;
    }
    const fileDigest = digest(text);
    if (fileDigest === this.#fileDigest) return false;
    const parsed = parseResources(text, file);
    if (!parsed.ok) {
      this.#fileDigest = fileDigest; // report a bad version once, not on every poll
      metrics.configReloads.inc({ source: 'file', result: 'invalid' });
      logger.error(
        { file, errors: parsed.errors },
        'refused the new resources file; keeping the last good config',
      );
      return false;
    }
    this.#fileDigest = fileDigest;
    this.#resources = parsed.resources;
    await this.#keeper.sync(keptServers(parsed.resources.servers));
    try {
      await this.#rebuild('file');
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.#watcher?.close();
    this.#keeper.close();
  }

  #rebuild(source: ConfigSource, rethrow = false): Promise<void> {
    const run = this.#queue.then(() => this.#build(source, rethrow));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #build(source: ConfigSource, rethrow: boolean): Promise<void> {
    const { store, clock, logger, metrics } = this.#deps;
    const resources = this.#resources;
    if (resources === undefined) return;
    const config = buildSidecarConfig({
      tenant: this.#options.tenant,
      revision: this.#revision + 1,
      now: clock(),
      servers: resources.servers.map((resource) => this.#withKeys(resource)),
      roles: resources.roles,
      forwardAuthorization: this.#options.forwardAuthorization,
    });
    let warnings: string[] = [];
    try {
      const result = await store.apply(config, { source, requireNewer: true });
      if (result.applied) warnings = result.active.compiled.warnings;
    } catch (error) {
      metrics.configReloads.inc({ source, result: 'error' });
      logger.error(
        { source, error: (error as Error).message },
        'the new config could not be applied; keeping the last good one',
      );
      if (rethrow) throw error;
      return;
    }
    this.#revision = config.revision;
    metrics.configReloads.inc({ source, result: 'applied' });
    logger.info(
      {
        source,
        revision: config.revision,
        servers: config.authorizationServers.length,
        roles: config.roles.length,
      },
      'config applied',
    );
    if (warnings.length > 0) logger.warn({ revision: config.revision, warnings }, 'the config has problems');
  }

  #withKeys(resource: AuthorizationServer) {
    const inline = resource.spec.jwks.inline;
    if (inline !== undefined) return { resource, keys: { keys: inline.keys } };
    const kept = this.#keeper.keysOf(serverId(resource));
    return kept === undefined
      ? { resource, keys: undefined }
      : { resource, keys: { keys: kept.keys }, keysFetchedAt: kept.fetchedAt };
  }
}

function serverId(resource: AuthorizationServer): string {
  return serverLabel({ name: resource.metadata.name, namespace: resource.metadata.namespace });
}

function keptServers(servers: AuthorizationServer[]): KeptServer[] {
  return servers.flatMap((resource) => {
    const jwks = resource.spec.jwks;
    // A disabled server is trusted by no one: no reason to contact it.
    if (jwks.uri === undefined || resource.spec.enabled === false) return [];
    const kept: KeptServer = {
      id: serverId(resource),
      uri: jwks.uri,
      refreshMs: parseDuration(jwks.refreshInterval ?? DEFAULT_REFRESH) ?? 3_600_000,
    };
    if (jwks.caBundle !== undefined) kept.caBundle = jwks.caBundle;
    return [kept];
  });
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
