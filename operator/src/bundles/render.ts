/**
 * Renders the config bundles sidecars need, purely. Pods whose labels select the same servers and
 * roles (and ask for the same Authorization forwarding) get the same config, so configs are built,
 * digested and later signed once per such group rather than once per pod: a Deployment of 1,000
 * replicas costs one bundle.
 */
import type { ApiRole, AuthorizationServer, Jwk, WorkloadSelector } from '../../../crds/src/index.js';
import type { SidecarConfig, Tenant } from '../../../sidecar/src/config/contract.js';
import { buildSidecarConfig, configDigest } from '../../../sidecar/src/config/from-resources.js';

export interface ServerWithKeys {
  resource: AuthorizationServer;
  keys: { keys: Jwk[] } | undefined;
  keysFetchedAt?: string;
}

/** The resources of one namespace that take effect (enabled, not duplicates). */
export interface NamespaceResources {
  servers: ServerWithKeys[];
  roles: ApiRole[];
}

export interface RenderTarget {
  uid: string;
  namespace: string;
  labels: Record<string, string>;
  forwardAuthorization: boolean;
}

export interface RenderedGroup {
  key: string;
  namespace: string;
  /** The config with revision 0; the revision is stamped when the bundle is signed. */
  config: SidecarConfig;
  digest: string;
  /** metadata.name of the roles in this config. */
  roleNames: string[];
}

export interface Rendered {
  groups: Map<string, RenderedGroup>;
  /** pod UID → group key */
  podGroups: Map<string, string>;
}

function selects(selector: WorkloadSelector | undefined, labels: Record<string, string>): boolean {
  return Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

/** What distinguishes one pod's config from another's in the same namespace. */
export function groupKeyOf(target: RenderTarget, resources: NamespaceResources): string {
  const servers = resources.servers
    .filter((s) => selects(s.resource.spec.workloadSelector, target.labels))
    .map((s) => s.resource.metadata.name)
    .sort();
  const roles = resources.roles
    .filter((r) => selects(r.spec.workloadSelector, target.labels))
    .map((r) => r.metadata.name)
    .sort();
  return JSON.stringify([target.namespace, target.forwardAuthorization, servers, roles]);
}

export function renderBundles(
  tenant: Tenant,
  resourcesByNamespace: ReadonlyMap<string, NamespaceResources>,
  targets: readonly RenderTarget[],
  now: Date,
): Rendered {
  const groups = new Map<string, RenderedGroup>();
  const podGroups = new Map<string, string>();
  const empty: NamespaceResources = { servers: [], roles: [] };
  for (const target of targets) {
    const resources = resourcesByNamespace.get(target.namespace) ?? empty;
    const key = groupKeyOf(target, resources);
    podGroups.set(target.uid, key);
    if (groups.has(key)) continue;
    const config = buildSidecarConfig({
      tenant,
      revision: 0,
      now,
      namespace: target.namespace,
      servers: resources.servers,
      roles: resources.roles,
      workloadLabels: target.labels,
      forwardAuthorization: target.forwardAuthorization,
    });
    groups.set(key, {
      key,
      namespace: target.namespace,
      config,
      digest: configDigest(config),
      roleNames: config.roles.map((r) => r.name),
    });
  }
  return { groups, podGroups };
}
