/** Shared pieces of the sidecar server unit tests: a config with an inline key, tokens, a quiet runtime. */
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { pino } from 'pino';
import type { ApiRole, AuthorizationServer } from '../../../crds/src/index.js';
import type { SidecarConfig } from '../../../sidecar/src/config/contract.js';
import { buildSidecarConfig } from '../../../sidecar/src/config/from-resources.js';
import { ConfigStore } from '../../../sidecar/src/state/config-store.js';
import { SidecarMetrics } from '../../../sidecar/src/telemetry/metrics.js';

export const ISSUER = 'https://idp.test';
export const TENANT = { cloudName: 'zs', orgId: '42', cloudDomain: 'zs.net' };

export interface TestKey {
  privateKey: CryptoKey;
  jwk: JWK;
}

export async function rsaKey(kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export function server(keys: JWK[]): AuthorizationServer {
  return {
    apiVersion: 'scopegate.io/v1alpha1',
    kind: 'AuthorizationServer',
    metadata: { name: 'idp', namespace: 'shop' },
    spec: {
      enabled: true,
      provider: 'Okta',
      issuer: ISSUER,
      jwks: { inline: { keys: keys as never } },
      allowedAlgorithms: ['RS256'],
      clockSkew: '60s',
    },
  };
}

export function role(name: string, paths: string[], access: 'Full' | 'ViewOnly' | 'None'): ApiRole {
  return {
    apiVersion: 'scopegate.io/v1alpha1',
    kind: 'ApiRole',
    metadata: { name, namespace: 'shop' },
    spec: { permissions: [{ name: `${name}-perm`, paths, access }] },
  };
}

export function config(keys: JWK[], revision = 1): SidecarConfig {
  return buildSidecarConfig({
    tenant: TENANT,
    revision,
    now: new Date(),
    namespace: 'shop',
    servers: [{ resource: server(keys), keys: { keys: keys as never } }],
    roles: [role('reader', ['/orders/**'], 'ViewOnly'), role('blocked', ['/orders/secret'], 'None')],
  });
}

export async function token(
  key: TestKey,
  scopes: string[],
  claims: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT({ scp: scopes, cid: 'client-a', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: key.jwk.kid as string })
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key.privateKey);
}

export function runtime() {
  const metrics = new SidecarMetrics({ version: 'test' });
  const logger = pino({ level: 'silent' });
  const store = new ConfigStore({ metrics, clock: () => new Date(), tokenCacheEntries: 100 });
  return { metrics, logger, store };
}
