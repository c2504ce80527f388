/**
 * The operator → sidecar config contract, version scopegate.io/v1alpha1 kind SidecarConfig.
 * The sidecar owns it; the operator imports it. Everything a sidecar needs to decide a request is
 * here, already resolved: tenant, the trusted servers with their keys, and the roles that apply to
 * this workload. A bundle is this document as the payload of an ES256 compact JWS.
 */
import type { Algorithm, Jwk, Permission, Provider } from '../../../crds/src/index.js';

export const SIDECAR_CONFIG_API_VERSION = 'scopegate.io/v1alpha1';
export const SIDECAR_CONFIG_KIND = 'SidecarConfig';
/** JWS `typ` of a signed bundle, so a bundle can never be confused with an access token. */
export const CONFIG_BUNDLE_TYP = 'scopegate-config+jws';

export interface Tenant {
  cloudName: string;
  orgId: string;
  /** Defaults to cloudName. */
  cloudDomain: string;
}

export interface SidecarAuthorizationServer {
  /** metadata.name of the AuthorizationServer. */
  name: string;
  namespace?: string;
  enabled: boolean;
  provider: Provider;
  issuer: string;
  audiences: string[];
  clientIds: string[];
  /** Claim names tried in order for the scope values (provider defaults already applied). */
  scopeClaims: string[];
  /** Claim names tried in order for the client ID (provider defaults already applied). */
  clientIdClaims: string[];
  allowedAlgorithms: Algorithm[];
  clockSkewSeconds: number;
  requiredClaims: Record<string, string[]>;
  /** The public keys (a JWKS) in force. */
  keys: { keys: Jwk[] };
  /** When these keys were fetched, if they were fetched. */
  keysFetchedAt?: string;
}

export interface SidecarRole {
  /** metadata.name of the ApiRole. */
  name: string;
  roleName: string;
  /** `<cloudName>::<orgId>::<roleName>` */
  scope: string;
  /** `oauth-<roleName>$@<orgId>.<cloudDomain>` */
  adminId: string;
  permissions: Permission[];
}

export interface SidecarConfig {
  apiVersion: typeof SIDECAR_CONFIG_API_VERSION;
  kind: typeof SIDECAR_CONFIG_KIND;
  /** Monotonically increasing; a sidecar refuses a revision not newer than the one it runs. */
  revision: number;
  generatedAt: string;
  tenant: Tenant;
  /** The namespace whose resources this config was built from (absent in standalone mode). */
  namespace?: string;
  authorizationServers: SidecarAuthorizationServer[];
  roles: SidecarRole[];
  proxy: {
    /** Forward the caller's Authorization header to the app (default false: stripped). */
    forwardAuthorization: boolean;
  };
}
