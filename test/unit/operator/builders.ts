/** Test builders for the operator's unit tests (cert-manager's gen.* style). */
import type { ApiRole, AuthorizationServer, Jwk } from '../../../crds/src/index.js';

export const TENANT = { cloudName: 'acme', orgId: '1234', cloudDomain: 'acme.example' };

export const RSA_KEY: Jwk = { kty: 'RSA', kid: 'rsa-1', n: 'sXch', e: 'AQAB' };
export const EC_KEY: Jwk = { kty: 'EC', kid: 'ec-1', crv: 'P-256', x: 'f83O', y: 'x_FE' };

export function server(
  name: string,
  spec: Partial<AuthorizationServer['spec']> = {},
  meta: Partial<AuthorizationServer['metadata']> = {},
): AuthorizationServer {
  return {
    apiVersion: 'scopegate.io/v1alpha1',
    kind: 'AuthorizationServer',
    metadata: {
      name,
      namespace: 'team-a',
      generation: 1,
      uid: `uid-${name}`,
      creationTimestamp: '2025-01-01T00:00:00Z',
      ...meta,
    },
    spec: {
      enabled: true,
      provider: 'Okta',
      issuer: `https://idp.example/${name}`,
      jwks: { uri: `https://idp.example/${name}/keys` },
      ...spec,
    } as AuthorizationServer['spec'],
  };
}

export function role(
  name: string,
  spec: Partial<ApiRole['spec']> = {},
  meta: Partial<ApiRole['metadata']> = {},
): ApiRole {
  return {
    apiVersion: 'scopegate.io/v1alpha1',
    kind: 'ApiRole',
    metadata: {
      name,
      namespace: 'team-a',
      generation: 1,
      uid: `uid-${name}`,
      creationTimestamp: '2025-01-01T00:00:00Z',
      ...meta,
    },
    spec: { permissions: [{ name: 'read', paths: ['/v1/**'], access: 'ViewOnly' }], ...spec },
  };
}
