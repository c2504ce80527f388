/**
 * Wiring of the operator: options in, running operator out. Every replica watches (so it is ready
 * to lead), fetches keys (so a new leader has them at once) and serves HTTP; only the leader
 * reconciles statuses, signs bundles and pushes them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  GROUP,
  VERSION,
  parseDuration,
  type ApiRole,
  type AuthorizationServer,
} from '../../crds/src/index.js';
import { signConfigBundle } from '../../sidecar/src/config/bundle.js';
import { RevisionAllocator } from './bundles/revision-allocator.js';
import type { NamespaceResources } from './bundles/render.js';
import { ensureSigningKey, publishPublicKey, type SigningKey } from './bundles/signing-key.js';
import { apiRoleReconciler, API_ROLE_CONTROLLER } from './controllers/api-role/controller.js';
import {
  AUTHORIZATION_SERVER_CONTROLLER,
  authorizationServerReconciler,
} from './controllers/authorization-server/controller.js';
import { createController, type Controller } from './controllers/controller.js';
import { effectiveRoles, effectiveServers, isEnabled } from './controllers/effective.js';
import { startHttpServer, type RefreshAnswer } from './http/server.js';
import { fetchJwks, type JwksFetcher } from './jwks/fetch-jwks.js';
import { KeyCache } from './jwks/key-cache.js';
import { KeyStore } from './jwks/key-store.js';
import { createKubeClient, MERGE_PATCH } from './kube/client.js';
import { createEventRecorder } from './kube/events.js';
import { inClusterAuth, kubeconfigAuth, resolveKubeconfigSource, type KubeAuth } from './kube/kubeconfig.js';
import { Informer, objectKey, type KubeObject } from './kube/informer.js';
import { LeaderElector } from './kube/leader-election.js';
import type { OperatorOptions } from './options.js';
import { Distributor, type DistributionSources } from './push/distributor.js';
import { createSidecarClient, type SidecarClient } from './push/sidecar-client.js';
import {
  SIDECAR_POD_SELECTOR,
  sidecarEndpoint,
  summarisePod,
  type PodSummary,
  type SidecarEndpoint,
} from './push/sidecar-pods.js';
import { createLogger } from './telemetry/logger.js';
import { startAdmissionWebhook, type AdmissionWebhook } from './webhook/index.js';
import { createOperatorMetrics, type OperatorMetrics } from './telemetry/metrics.js';

/** Set on an AuthorizationServer by a standby replica to pass a sidecar's refresh request to the leader. */
export const REFRESH_REQUESTED_ANNOTATION = 'scopegate.io/keys-refresh-requested-at';
const DEFAULT_REFRESH_INTERVAL_MS = 3_600_000;

export interface OperatorDeps {
  kubeConfig?: KubeConfig;
  logger?: Logger;
  fetcher?: JwksFetcher;
  sidecarClient?: SidecarClient;
  metrics?: OperatorMetrics;
}

export interface RunningOperator {
  /** Where the HTTP port listens (useful with port 0). */
  httpAddress: { address: string; port: number };
  isLeader(): boolean;
  isReady(): boolean;
  signingKey: SigningKey;
  metrics: OperatorMetrics;
  distributor: Distributor;
  /** Resolves when the operator stopped: 'stopped' after stop(), 'lost-leadership' when it must restart. */
  done: Promise<'stopped' | 'lost-leadership'>;
  stop(): Promise<void>;
}

/** Keeps what the operator reads; managedFields and last-applied copies would double the memory. */
function slimResource<T extends KubeObject>(raw: Record<string, unknown>): T {
  const object = raw as unknown as T & {
    metadata: { managedFields?: unknown; annotations?: Record<string, string> };
  };
  const { managedFields: _managed, ...metadata } = object.metadata;
  if (metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] !== undefined) {
    const { 'kubectl.kubernetes.io/last-applied-configuration': _last, ...annotations } =
      metadata.annotations;
    metadata.annotations = annotations;
  }
  return { ...object, metadata } as T;
}

/** Same generation, labels and annotations: only the status moved (for CRDs, spec changes bump generation). */
export function onlyStatusChanged(before: KubeObject, after: KubeObject): boolean {
  const a = before.metadata as KubeObject['metadata'] & {
    generation?: number;
    labels?: unknown;
    annotations?: unknown;
  };
  const b = after.metadata as typeof a;
  return (
    a.generation === b.generation &&
    isDeepStrictEqual(a.labels, b.labels) &&
    isDeepStrictEqual(a.annotations, b.annotations)
  );
}

/** Pod updates that change nothing the push cares about (most kubelet status updates). */
export function samePodForPush(before: PodSummary, after: PodSummary): boolean {
  const strip = (p: PodSummary) => ({ ...p, metadata: { ...p.metadata, resourceVersion: undefined } });
  return isDeepStrictEqual(strip(before), strip(after));
}

function collectionPaths(namespaces: string[], prefix: string, plural: string): string[] {
  if (namespaces.length === 0) return [`${prefix}/${plural}`];
  return namespaces.map((ns) => `${prefix}/namespaces/${ns}/${plural}`);
}

/** Our light reader first; client-node (70 MB of generated models) only for exec plugins and the like. */
async function loadKubeAuth(options: OperatorOptions): Promise<KubeAuth | KubeConfig> {
  const source = resolveKubeconfigSource({
    ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
    env: options.kubeEnv,
  });
  if (source.kind === 'in-cluster') return inClusterAuth(source.host, source.port);
  const light = kubeconfigAuth(source.path);
  if (light.ok) return light.auth;
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(source.path);
  return kc;
}

export async function startOperator(
  options: OperatorOptions,
  deps: OperatorDeps = {},
): Promise<RunningOperator> {
  const log = deps.logger ?? createLogger(options.logLevel);
  const metrics = deps.metrics ?? createOperatorMetrics();
  const client = await createKubeClient(deps.kubeConfig ?? (await loadKubeAuth(options)));
  const tenant = options.tenant;
  const now = () => new Date();
  const identity = options.leaderElection.identity;
  const cleanups: (() => Promise<void> | void)[] = [() => client.close()];

  try {
    const signingKey = await ensureSigningKey(client, options.signingSecret);
    log.info(
      { secret: `${options.signingSecret.namespace}/${options.signingSecret.name}`, kid: signingKey.kid },
      'config signing key ready',
    );

    // --- caches -------------------------------------------------------------------------------
    const informerLog = log.child({ component: 'informer' });
    const makeInformer = <T extends KubeObject>(
      resource: string,
      paths: string[],
      extra: Partial<ConstructorParameters<typeof Informer<T>>[0]> = {},
    ) =>
      new Informer<T>({
        name: resource,
        client,
        paths,
        relistIntervalMs: options.relistIntervalMs,
        log: informerLog,
        onRestart: () => metrics.informerRestarts.inc({ resource }),
        onRelist: () => metrics.informerRelists.inc({ resource }),
        transform: slimResource,
        ...extra,
      });
    const apiPrefix = `/apis/${GROUP}/${VERSION}`;
    const servers = makeInformer<AuthorizationServer>(
      'authorizationservers',
      collectionPaths(options.namespaces, apiPrefix, 'authorizationservers'),
    );
    const roles = makeInformer<ApiRole>(
      'apiroles',
      collectionPaths(options.namespaces, apiPrefix, 'apiroles'),
    );
    const pods = makeInformer<PodSummary>('pods', collectionPaths(options.namespaces, '/api/v1', 'pods'), {
      labelSelector: SIDECAR_POD_SELECTOR,
      transform: summarisePod,
    });
    const informers = [servers, roles, pods];
    cleanups.push(() => Promise.all(informers.map((i) => i.stop())).then(() => undefined));

    // --- keys (every replica) -------------------------------------------------------------------
    let leading = false;
    const controllers: Controller[] = [];
    const enqueue = (controller: string, key: string) =>
      controllers.find((c) => c.name === controller)?.enqueue(key);

    // Last good keys from earlier leaders: the identity provider may be down right now.
    const keyCache = new KeyCache(client, {
      namespace: options.operatorNamespace,
      name: options.keysConfigMap,
    });
    // Best effort: without it (say, RBAC not granted) a restart during an outage loses the keys.
    await keyCache
      .load()
      .catch((e: unknown) => log.warn({ err: e }, 'could not read the cached last good keys'));
    const keyStore = new KeyStore({
      fetcher: deps.fetcher ?? fetchJwks,
      timeoutMs: options.jwksTimeoutMs,
      minRefreshIntervalMs: options.keyRefreshMinIntervalMs,
      onResult: (result) => metrics.jwksFetches.inc({ result }),
      onFetched: (key, state, keysChanged) => {
        const failed = state.lastError !== undefined && state.failures > 0;
        const keysLog = log.child({ controller: 'keys', key });
        const details = { keys: state.keys?.length ?? 0, error: state.lastError?.message, keysChanged };
        if (failed) keysLog.warn(details, 'key fetch failed; keeping the last good keys');
        else keysLog.info(details, 'keys fetched');
        enqueue(AUTHORIZATION_SERVER_CONTROLLER, key);
        if (keysChanged || !state.keys) distributor.invalidate();
        if (leading && keysChanged && state.keys && state.fetchedAt) {
          const entry = {
            uid: state.source.uid,
            issuer: state.source.issuer,
            fetchedAt: state.fetchedAt.toISOString(),
            keys: state.keys,
          };
          keyCache
            .save(key, entry)
            .catch((e: unknown) => log.warn({ err: e, key }, 'could not persist the last good keys'));
        }
      },
    });
    cleanups.push(() => keyStore.stop());

    const trackKeys = (server: AuthorizationServer) => {
      const key = objectKey(server);
      const uri = server.spec.jwks.uri;
      if (!isEnabled(server) || uri === undefined) return keyStore.untrack(key);
      const source = {
        uid: server.metadata.uid ?? '',
        issuer: server.spec.issuer,
        uri,
        ...(server.spec.jwks.caBundle ? { caBundle: server.spec.jwks.caBundle } : {}),
        refreshIntervalMs:
          parseDuration(server.spec.jwks.refreshInterval ?? '1h') ?? DEFAULT_REFRESH_INTERVAL_MS,
      };
      keyStore.track(key, source);
      const cached = keyCache.get(key);
      if (cached) keyStore.seed(key, source, cached.keys, new Date(cached.fetchedAt));
    };

    // --- distribution (leader) ------------------------------------------------------------------
    const allocator = new RevisionAllocator({
      client,
      namespace: options.operatorNamespace,
      name: options.revisionConfigMap,
    });
    const collect = (): DistributionSources => {
      const resources = new Map<string, NamespaceResources>();
      const held = new Set<string>();
      const namespaces = new Set([...servers.list(), ...roles.list()].map((o) => o.metadata.namespace ?? ''));
      for (const ns of namespaces) {
        const effective = effectiveServers(servers.list(ns)).map((resource) => {
          const inline = resource.spec.jwks.inline;
          if (inline) return { resource, keys: { keys: inline.keys } };
          const state = keyStore.get(objectKey(resource));
          // Never replace what sidecars trust with "no keys" only because we have not asked yet.
          if (!state || (!state.attempted && !state.keys)) held.add(ns);
          return {
            resource,
            keys: state?.keys ? { keys: state.keys } : undefined,
            ...(state?.fetchedAt ? { keysFetchedAt: state.fetchedAt.toISOString() } : {}),
          };
        });
        resources.set(ns, { servers: effective, roles: effectiveRoles(roles.list(ns)) });
      }
      const targets = pods
        .list()
        .map(sidecarEndpoint)
        .filter((e): e is SidecarEndpoint => !('skip' in e));
      return { resources, held, targets };
    };
    const sidecarClient = deps.sidecarClient ?? createSidecarClient({ timeoutMs: options.pushTimeoutMs });
    cleanups.push(() => sidecarClient.close());
    const progressThrottleMs = 1000;
    // Referenced by the key store's callback above, which first runs once informers are started below.
    const distributor: Distributor = new Distributor({
      tenant,
      collect,
      allocator,
      sign: (config) => signConfigBundle(config, signingKey.privateKey, signingKey.kid),
      client: sidecarClient,
      concurrency: options.pushConcurrency,
      antiEntropyMs: options.antiEntropyIntervalMs,
      log: log.child({ controller: 'push' }),
      metrics: {
        request: (kind, result) => metrics.sidecarRequests.inc({ kind, result }),
        sidecars: (inSync, outOfSync) => {
          metrics.sidecars.set({ state: 'in_sync' }, inSync);
          metrics.sidecars.set({ state: 'out_of_sync' }, outOfSync);
        },
        propagation: (seconds) => metrics.propagation.observe(seconds),
        revision: (revision) => metrics.revision.set(revision),
      },
      onProgress: (namespace) => {
        const roleController = controllers.find((c) => c.name === API_ROLE_CONTROLLER);
        for (const role of roles.list(namespace))
          roleController?.enqueueAfter(objectKey(role), progressThrottleMs);
      },
    });
    const theDistributor = distributor;

    // --- controllers (leader) -------------------------------------------------------------------
    const events = createEventRecorder(
      client,
      { controller: 'scopegate.io/operator', instance: identity },
      (e) => log.warn({ err: e }, 'could not record an event'),
    );
    controllers.push(
      createController({
        name: AUTHORIZATION_SERVER_CONTROLLER,
        log,
        metrics,
        reconcile: authorizationServerReconciler({ client, servers, keyStore, events, metrics, now }),
      }),
      createController({
        name: API_ROLE_CONTROLLER,
        log,
        metrics,
        reconcile: apiRoleReconciler({
          client,
          tenant,
          roles,
          servers,
          sidecars: (ns, name) => theDistributor.roleSidecars(ns, name),
          events,
          metrics,
          now,
        }),
      }),
    );
    const enqueueNamespace = (namespace: string) => {
      for (const s of servers.list(namespace)) enqueue(AUTHORIZATION_SERVER_CONTROLLER, objectKey(s));
      for (const r of roles.list(namespace)) enqueue(API_ROLE_CONTROLLER, objectKey(r));
    };

    servers.on((type, server, previous) => {
      // Our own status writes come back as updates: they change nothing we act on.
      if (type === 'update' && previous && onlyStatusChanged(previous, server)) return;
      if (type === 'delete') {
        keyStore.untrack(objectKey(server));
        if (leading)
          keyCache
            .remove(objectKey(server))
            .catch((e: unknown) => log.warn({ err: e }, 'could not drop cached keys'));
      } else trackKeys(server);
      const asked = server.metadata.annotations?.[REFRESH_REQUESTED_ANNOTATION];
      if (
        leading &&
        type === 'update' &&
        asked !== undefined &&
        asked !== previous?.metadata.annotations?.[REFRESH_REQUESTED_ANNOTATION]
      ) {
        keyStore.requestRefresh(objectKey(server));
      }
      // Peers matter (duplicate issuers, roles without a server): look at the whole namespace.
      enqueueNamespace(server.metadata.namespace ?? '');
      theDistributor.invalidate();
    });
    roles.on((type, role, previous) => {
      if (type === 'update' && previous && onlyStatusChanged(previous, role)) return;
      for (const r of roles.list(role.metadata.namespace)) enqueue(API_ROLE_CONTROLLER, objectKey(r));
      theDistributor.invalidate();
    });
    pods.on((type, pod, previous) => {
      if (type === 'update' && previous && samePodForPush(previous, pod)) return;
      theDistributor.invalidate();
    });

    // --- HTTP -----------------------------------------------------------------------------------
    const standbyRefreshAt = new Map<string, number>();
    const refreshKeys = async (request: {
      namespace: string;
      server: string;
      kid?: string;
    }): Promise<RefreshAnswer> => {
      const key = `${request.namespace}/${request.server}`;
      const server = servers.get(request.namespace, request.server);
      const state = keyStore.get(key);
      if (!server || !state) return 'unknown';
      if (request.kid !== undefined && state.keys?.some((k) => k.kid === request.kid)) {
        theDistributor.invalidate();
        return 'known';
      }
      if (leading) return keyStore.requestRefresh(key);
      // A standby cannot push: it asks the leader through the API server.
      const last = standbyRefreshAt.get(key) ?? 0;
      if (Date.now() - last < options.keyRefreshMinIntervalMs) return 'rate-limited';
      standbyRefreshAt.set(key, Date.now());
      await client.request(
        'PATCH',
        `${apiPrefix}/namespaces/${request.namespace}/authorizationservers/${request.server}`,
        {
          body: { metadata: { annotations: { [REFRESH_REQUESTED_ANNOTATION]: new Date().toISOString() } } },
          contentType: MERGE_PATCH,
          query: { fieldManager: 'scopegate-operator' },
        },
      );
      return 'forwarded';
    };
    const synced = () => informers.every((i) => i.synced);

    // --- admission webhook (every replica serves it; the leader renews its certificates) --------
    const leadershipListeners: ((leading: boolean) => void)[] = [];
    let webhook: AdmissionWebhook | undefined;
    if (options.webhook.enabled && options.webhook.injection) {
      const started = await startAdmissionWebhook(options.webhook.injection, {
        kube: client,
        logger: log,
        registry: metrics.registry,
        isLeader: () => leading,
        onLeadership: (listener) => leadershipListeners.push(listener),
        configPublicKeyPem: signingKey.publicKeyPem,
        version: packageVersion(),
        instance: identity,
        namespace: options.operatorNamespace,
        events,
      });
      webhook = started;
      cleanups.push(() => started.stop());
    }
    const ready = () => {
      if (!synced()) return { ready: false, reason: 'caches not synced yet' } as const;
      // Not ready without a certificate: the webhook Service then sends the API server elsewhere.
      if (webhook && !webhook.isReady())
        return { ready: false, reason: 'no webhook serving certificate yet' } as const;
      return { ready: true } as const;
    };
    const http = await startHttpServer(
      {
        registry: metrics.registry,
        ready,
        refreshKeys,
        onRefreshAnswer: (answer) => metrics.keyRefreshRequests.inc({ answer }),
      },
      options.httpAddr,
    );
    cleanups.push(() => http.close());
    log.info({ addr: `${http.address.address}:${http.address.port}` }, 'HTTP server listening');

    for (const informer of informers) informer.start();

    // --- leadership -----------------------------------------------------------------------------
    let resolveDone: (why: 'stopped' | 'lost-leadership') => void = () => {};
    const done = new Promise<'stopped' | 'lost-leadership'>((resolve) => (resolveDone = resolve));
    let leaderWork: Promise<void> = Promise.resolve();

    const startLeading = () => {
      leading = true;
      metrics.leader.set(1);
      for (const listener of leadershipListeners) listener(true);
      leaderWork = (async () => {
        await Promise.all(informers.map((i) => i.whenSynced()));
        if (!leading) return;
        await publishPublicKey(
          client,
          { namespace: options.signingSecret.namespace, name: options.publicKeyConfigMap },
          signingKey,
        ).catch((e: unknown) => log.warn({ err: e }, 'could not publish the config public key'));
        for (const c of controllers) c.queue.start();
        for (const s of servers.list()) enqueue(AUTHORIZATION_SERVER_CONTROLLER, objectKey(s));
        for (const r of roles.list()) enqueue(API_ROLE_CONTROLLER, objectKey(r));
        theDistributor.start();
        log.info({ identity }, 'leading: reconciling and pushing config');
      })();
    };
    const stopLeading = async () => {
      leading = false;
      metrics.leader.set(0);
      for (const listener of leadershipListeners) listener(false);
      await leaderWork.catch(() => undefined);
      await Promise.all([...controllers.map((c) => c.queue.stop()), theDistributor.stop()]);
    };

    const elector = options.leaderElection.enabled
      ? new LeaderElector({
          client,
          namespace: options.leaderElection.leaseNamespace,
          name: options.leaderElection.leaseName,
          identity,
          leaseDurationMs: options.leaderElection.leaseDurationMs,
          renewDeadlineMs: options.leaderElection.renewDeadlineMs,
          retryPeriodMs: options.leaderElection.retryPeriodMs,
          log: log.child({ component: 'leader-election' }),
          onStartedLeading: startLeading,
          onStoppedLeading: () => {
            if (!stopping) {
              // Stop acting at once; the process restarts clean rather than re-campaigning with stale state.
              void stopLeading().then(() => resolveDone('lost-leadership'));
            }
          },
          onNewLeader: (holder) => log.info({ leader: holder }, 'observed leader'),
        })
      : undefined;
    let stopping = false;
    if (elector) elector.start();
    else startLeading();

    return {
      httpAddress: { address: http.address.address, port: http.address.port },
      isLeader: () => leading,
      isReady: synced,
      signingKey,
      metrics,
      distributor: theDistributor,
      done,
      stop: async () => {
        if (stopping) return;
        stopping = true;
        await stopLeading();
        await elector?.stop();
        for (const cleanup of cleanups.reverse()) await cleanup();
        resolveDone('stopped');
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    throw error;
  }
}

/** The scopegate package's version (annotated on injected pods), from src/ or dist/ alike. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (dirname(dir) === dir) return 'unknown';
  }
}
