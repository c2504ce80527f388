/** Test-object builders for the sidecar core: resources, keys, tokens and compiled configs. */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import type {
  ApiRole,
  AuthorizationServer,
  AuthorizationServerSpec,
  Jwk,
  Permission,
} from '../../../crds/src/index.js';
import type { Tenant } from '../../../sidecar/src/config/contract.js';
import { buildSidecarConfig, type BuildConfigInput } from '../../../sidecar/src/config/from-resources.js';
import {
  compileConfig,
  type CompiledConfig,
  type RequestFacts,
} from '../../../sidecar/src/pipeline/decide.js';

export const TENANT: Tenant = { cloudName: 'demo', orgId: '1234567', cloudDomain: 'demo.example' };
export const ISSUER = 'https://idp.example.com/oauth2/default';
/** Frozen "now" for every test: 2030-01-01T00:00:00Z. */
export const NOW = new Date('2030-01-01T00:00:00Z');
export const NOW_S = NOW.getTime() / 1000;

export function authorizationServer(
  name: string,
  spec: Partial<AuthorizationServerSpec> = {},
  metadata: Partial<AuthorizationServer['metadata']> = {},
): AuthorizationServer {
  return {
    apiVersion: 'scopegate.io/v1alpha1',
    kind: 'AuthorizationServer',
    metadata: { name, ...metadata },
    spec: {
      enabled: true,
      provider: 'Generic',
      issuer: ISSUER,
      jwks: { uri: 'https://idp.example.com/oauth2/default/v1/keys' },
      allowedAlgorithms: ['RS256'],
      clockSkew: '60s',
      ...spec,
    },
  };
}

export function apiRole(
  name: string,
  permissions: Permission[],
  extra: { roleName?: string; namespace?: string; matchLabels?: Record<string, string> } = {},
): ApiRole {
  return {
    apiVersion: 'scopegate.io/v1alpha1',
    kind: 'ApiRole',
    metadata: { name, ...(extra.namespace ? { namespace: extra.namespace } : {}) },
    spec: {
      ...(extra.roleName ? { roleName: extra.roleName } : {}),
      permissions,
      ...(extra.matchLabels ? { workloadSelector: { matchLabels: extra.matchLabels } } : {}),
    },
  };
}

/** The roles most tests use: admin (Full on /**), reader (ViewOnly on /v1/**, never /v1/admin/**), writer. */
export const STANDARD_ROLES: ApiRole[] = [
  apiRole('admin', [{ name: 'everything', paths: ['/**'], access: 'Full' }]),
  apiRole('reader', [
    { name: 'read-v1', paths: ['/v1/**'], access: 'ViewOnly' },
    { name: 'no-admin', paths: ['/v1/admin/**'], access: 'None' },
  ]),
  apiRole('writer', [
    { name: 'write-items', paths: ['/v1/items', '/v1/items/*'], methods: ['POST', 'PUT', 'DELETE'] },
    { name: 'no-secrets', paths: ['/v1/items/secret'], access: 'None' },
  ]),
];

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: Jwk;
}

export async function makeKey(kid: string, alg = 'RS256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid } as Jwk;
  return { kid, alg, privateKey, publicKey, jwk };
}

export async function mint(
  key: TestKey,
  claims: JWTPayload = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ iss: ISSUER, exp: NOW_S + 3600, iat: NOW_S - 10, ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

export function scope(role: string, tenant: Tenant = TENANT): string {
  return `${tenant.cloudName}::${tenant.orgId}::${role}`;
}

export async function compiledFor(
  servers: { resource: AuthorizationServer; keys: Jwk[] | undefined }[],
  roles: ApiRole[] = STANDARD_ROLES,
  extra: Partial<BuildConfigInput> = {},
): Promise<CompiledConfig> {
  return compileConfig(
    buildSidecarConfig({
      tenant: TENANT,
      revision: 1,
      now: NOW,
      servers: servers.map((s) => ({ resource: s.resource, keys: s.keys && { keys: s.keys } })),
      roles,
      ...extra,
    }),
  );
}

export function request(token: string | undefined, method = 'GET', url = '/v1/items'): RequestFacts {
  return { method, url, authorization: token === undefined ? undefined : `Bearer ${token}` };
}
