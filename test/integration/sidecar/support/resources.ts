/** The resources file of the integration tests, as YAML a user would `kubectl apply`. */
import type { JWK } from 'jose';
import { AUDIENCE, ISSUER } from './tokens.js';

export interface ResourcesOptions {
  jwksUri?: string;
  caPem?: string;
  inlineKeys?: JWK[];
  refreshInterval?: string;
  /** Extra YAML documents appended as they are. */
  extra?: string[];
}

const indent = (text: string, spaces: number) =>
  text
    .trim()
    .split('\n')
    .map((line) => `${' '.repeat(spaces)}${line}`)
    .join('\n');

export function resourcesYaml(options: ResourcesOptions): string {
  const jwks =
    options.inlineKeys !== undefined
      ? `    inline:\n      keys: ${JSON.stringify(options.inlineKeys)}`
      : [
          `    uri: ${options.jwksUri}`,
          `    refreshInterval: ${options.refreshInterval ?? '1h'}`,
          ...(options.caPem === undefined ? [] : ['    caBundle: |', indent(options.caPem, 6)]),
        ].join('\n');
  return [
    `apiVersion: scopegate.io/v1alpha1
kind: AuthorizationServer
metadata:
  name: okta
  namespace: shop
spec:
  provider: Okta
  issuer: ${ISSUER}
  audiences: [${AUDIENCE}]
  clientIds: [client-orders]
  jwks:
${jwks}`,
    `apiVersion: scopegate.io/v1alpha1
kind: AuthorizationServer
metadata:
  name: legacy
  namespace: shop
spec:
  enabled: false
  provider: Generic
  issuer: https://legacy.test
  jwks:
    inline:
      keys: [{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"legacy"}]`,
    `apiVersion: scopegate.io/v1alpha1
kind: ApiRole
metadata:
  name: reader
  namespace: shop
spec:
  permissions:
    - name: read-orders
      paths: [/orders/**]
      access: ViewOnly`,
    `apiVersion: scopegate.io/v1alpha1
kind: ApiRole
metadata:
  name: writer
  namespace: shop
spec:
  permissions:
    - name: write-orders
      paths: [/orders/**, /upload, /download/*, /slow/*, /hang]
      access: Full
    - name: no-secrets
      paths: [/orders/secret/**]
      access: None`,
    `apiVersion: scopegate.io/v1alpha1
kind: ApiRole
metadata:
  name: admin
  namespace: shop
spec:
  permissions:
    - name: everything
      paths: [/admin/**]
      access: Full`,
    ...(options.extra ?? []),
  ].join('\n---\n');
}
