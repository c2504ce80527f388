/**
 * Builds the SidecarConfig for one workload from the resources that apply to it. Pure: the operator
 * calls it per sidecar scope, the standalone sidecar and `scopegate explain` call it on YAML files.
 */
import { createHash } from 'node:crypto';
import {
  parseDuration,
  SUPPORTED_ALGORITHMS,
  type Algorithm,
  type ApiRole,
  type AuthorizationServer,
  type Jwk,
  type WorkloadSelector,
} from '../../../crds/src/index.js';
import { canonicalJson } from './canonical-json.js';
import { DEFAULT_CLAIM_MAPPINGS } from './claim-mappings.js';
import {
  SIDECAR_CONFIG_API_VERSION,
  SIDECAR_CONFIG_KIND,
  type SidecarAuthorizationServer,
  type SidecarConfig,
  type SidecarRole,
  type Tenant,
} from './contract.js';

export interface BuildConfigInput {
  tenant: Tenant;
  revision: number;
  now: Date;
  /** The namespace the config is for; resources from any other namespace are ignored. */
  namespace?: string;
  servers: { resource: AuthorizationServer; keys: { keys: Jwk[] } | undefined; keysFetchedAt?: string }[];
  roles: ApiRole[];
  /** Labels of the workload the config is for; undefined = standalone, every resource applies. */
  workloadLabels?: Record<string, string>;
  forwardAuthorization?: boolean;
}

const DEFAULT_ALGORITHMS: Algorithm[] = ['RS256'];
const DEFAULT_CLOCK_SKEW = '60s';
/** The only JWK members a verifier needs; anything else (private parts, x5c, key_ops) is dropped. */
const PUBLIC_JWK_MEMBERS = ['kty', 'kid', 'use', 'alg', 'n', 'e', 'crv', 'x', 'y'] as const;

export function effectiveRoleName(role: ApiRole): string {
  return role.spec.roleName ?? role.metadata.name;
}

/** The scope value a client needs for this role: `<cloudName>::<orgId>::<roleName>`. */
export function roleScope(tenant: Tenant, roleName: string): string {
  return `${tenant.cloudName}::${tenant.orgId}::${roleName}`;
}

/** The admin ID under which the role's calls are audited: `oauth-<roleName>$@<orgId>.<cloudDomain>`. */
export function adminId(tenant: Tenant, roleName: string): string {
  return `oauth-${roleName}$@${tenant.orgId}.${tenant.cloudDomain}`;
}

/** sha256 of everything that affects decisions, so the operator can tell "nothing changed". */
export function configDigest(config: SidecarConfig): string {
  const { revision: _revision, generatedAt: _generatedAt, ...content } = config;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

export function buildSidecarConfig(input: BuildConfigInput): SidecarConfig {
  const applies = (namespace: string | undefined, selector: WorkloadSelector | undefined) =>
    inNamespace(input.namespace, namespace) && selects(selector, input.workloadLabels);
  const servers = input.servers
    .filter((s) => applies(s.resource.metadata.namespace, s.resource.spec.workloadSelector))
    .map((s) => toSidecarServer(s.resource, s.keys, s.keysFetchedAt))
    .sort((a, b) => compareStrings(`${a.namespace ?? ''}/${a.name}`, `${b.namespace ?? ''}/${b.name}`));
  const roles = input.roles
    .filter((r) => applies(r.metadata.namespace, r.spec.workloadSelector))
    .map((r) => toSidecarRole(input.tenant, r))
    .sort((a, b) => compareStrings(a.roleName, b.roleName) || compareStrings(a.name, b.name));
  const config: SidecarConfig = {
    apiVersion: SIDECAR_CONFIG_API_VERSION,
    kind: SIDECAR_CONFIG_KIND,
    revision: input.revision,
    generatedAt: input.now.toISOString(),
    tenant: { ...input.tenant },
    authorizationServers: servers,
    roles,
    proxy: { forwardAuthorization: input.forwardAuthorization ?? false },
  };
  if (input.namespace !== undefined) config.namespace = input.namespace;
  return config;
}

/** A resource from another namespace never applies: a token for team A's API must not open team B's. */
function inNamespace(target: string | undefined, resourceNamespace: string | undefined): boolean {
  return target === undefined || resourceNamespace === undefined || resourceNamespace === target;
}

function selects(
  selector: WorkloadSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (labels === undefined || selector === undefined) return true;
  return Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
}

function toSidecarServer(
  resource: AuthorizationServer,
  keys: { keys: Jwk[] } | undefined,
  keysFetchedAt: string | undefined,
): SidecarAuthorizationServer {
  const spec = resource.spec;
  const defaults = DEFAULT_CLAIM_MAPPINGS[spec.provider];
  const skewMs = parseDuration(spec.clockSkew ?? DEFAULT_CLOCK_SKEW) ?? parseDuration(DEFAULT_CLOCK_SKEW)!;
  const server: SidecarAuthorizationServer = {
    name: resource.metadata.name,
    enabled: spec.enabled ?? true,
    provider: spec.provider,
    issuer: spec.issuer,
    audiences: [...(spec.audiences ?? [])],
    clientIds: [...(spec.clientIds ?? [])],
    scopeClaims: [...(spec.claimMappings?.scope ?? defaults.scope)],
    clientIdClaims: [...(spec.claimMappings?.clientId ?? defaults.clientId)],
    allowedAlgorithms: safeAlgorithms(spec.allowedAlgorithms ?? DEFAULT_ALGORITHMS),
    // The CRD caps clockSkew at 5m; a value beyond it is treated as the cap rather than trusted.
    clockSkewSeconds: Math.min(skewMs, 300_000) / 1000,
    requiredClaims: structuredClone(spec.requiredClaims ?? {}),
    keys: { keys: publicSigningKeys(keys?.keys ?? []) },
  };
  if (resource.metadata.namespace !== undefined) server.namespace = resource.metadata.namespace;
  if (keysFetchedAt !== undefined) server.keysFetchedAt = keysFetchedAt;
  return server;
}

/** `none` and HMAC never get through, whatever the resource says (the CRD rejects them too). */
function safeAlgorithms(algorithms: readonly string[]): Algorithm[] {
  const supported = new Set<string>(SUPPORTED_ALGORITHMS);
  return [...new Set(algorithms)].filter((a): a is Algorithm => supported.has(a));
}

function publicSigningKeys(keys: Jwk[]): Jwk[] {
  return keys
    .filter((k) => ['RSA', 'EC', 'OKP'].includes(k.kty) && (k.use === undefined || k.use === 'sig'))
    .map((k) => {
      const out: Record<string, unknown> = {};
      for (const member of PUBLIC_JWK_MEMBERS) if (k[member] !== undefined) out[member] = k[member];
      return out as Jwk;
    })
    .sort(
      (a, b) =>
        compareStrings(a.kid ?? '', b.kid ?? '') || compareStrings(canonicalJson(a), canonicalJson(b)),
    );
}

function toSidecarRole(tenant: Tenant, role: ApiRole): SidecarRole {
  const roleName = effectiveRoleName(role);
  return {
    name: role.metadata.name,
    roleName,
    scope: roleScope(tenant, roleName),
    adminId: adminId(tenant, roleName),
    permissions: structuredClone(role.spec.permissions),
  };
}

/** Code-unit order, independent of locale, so every process sorts the same way. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
