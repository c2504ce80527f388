import { describe, expect, it } from 'vitest';
import {
  adminId,
  buildSidecarConfig,
  configDigest,
  effectiveRoleName,
  roleScope,
  type BuildConfigInput,
} from '../../../../sidecar/src/config/from-resources.js';
import { validateSidecarConfig } from '../../../../sidecar/src/config/validate.js';
import { apiRole, authorizationServer, NOW, STANDARD_ROLES, TENANT } from '../builders.js';

const rsaKey = { kty: 'RSA', kid: 'k1', n: 'sXch', e: 'AQAB' } as const;

function input(extra: Partial<BuildConfigInput> = {}): BuildConfigInput {
  return {
    tenant: TENANT,
    revision: 7,
    now: NOW,
    servers: [{ resource: authorizationServer('idp'), keys: { keys: [rsaKey] } }],
    roles: STANDARD_ROLES,
    ...extra,
  };
}

describe('role identity', () => {
  it('derives scope and admin ID from the tenant and the role name', () => {
    expect(roleScope(TENANT, 'reader')).toBe('demo::1234567::reader');
    expect(adminId(TENANT, 'reader')).toBe('oauth-reader$@1234567.demo.example');
    expect(
      adminId({ cloudName: 'zscaler.net', orgId: '64444', cloudDomain: 'zscaler.net' }, 'apirole1'),
    ).toBe('oauth-apirole1$@64444.zscaler.net');
  });

  it('uses spec.roleName, else metadata.name', () => {
    expect(effectiveRoleName(apiRole('ops-role', [], { roleName: 'Ops' }))).toBe('Ops');
    expect(effectiveRoleName(apiRole('ops-role', []))).toBe('ops-role');
  });
});

describe('buildSidecarConfig', () => {
  it('produces a valid config with defaults applied', () => {
    const config = buildSidecarConfig(input());
    expect(validateSidecarConfig(config)).toEqual({ ok: true, config });
    expect(config).toMatchObject({
      apiVersion: 'scopegate.io/v1alpha1',
      kind: 'SidecarConfig',
      revision: 7,
      generatedAt: NOW.toISOString(),
      tenant: TENANT,
      proxy: { forwardAuthorization: false },
    });
    expect(config.authorizationServers[0]).toEqual({
      name: 'idp',
      enabled: true,
      provider: 'Generic',
      issuer: 'https://idp.example.com/oauth2/default',
      audiences: [],
      clientIds: [],
      scopeClaims: ['scope', 'scp', 'roles'],
      clientIdClaims: ['client_id', 'azp', 'cid', 'appid'],
      allowedAlgorithms: ['RS256'],
      clockSkewSeconds: 60,
      requiredClaims: {},
      keys: { keys: [rsaKey] },
    });
    expect(config.roles.map((r) => [r.roleName, r.scope, r.adminId])).toEqual([
      ['admin', 'demo::1234567::admin', 'oauth-admin$@1234567.demo.example'],
      ['reader', 'demo::1234567::reader', 'oauth-reader$@1234567.demo.example'],
      ['writer', 'demo::1234567::writer', 'oauth-writer$@1234567.demo.example'],
    ]);
  });

  it.each([
    ['Okta', ['scp'], ['cid']],
    ['EntraID', ['roles', 'scp'], ['appid', 'azp']],
    ['PingFederate', ['scp', 'scope'], ['client_id']],
  ] as const)('applies the %s claim defaults', (provider, scopeClaims, clientIdClaims) => {
    const config = buildSidecarConfig(
      input({ servers: [{ resource: authorizationServer('idp', { provider }), keys: undefined }] }),
    );
    expect(config.authorizationServers[0]).toMatchObject({ scopeClaims, clientIdClaims, keys: { keys: [] } });
  });

  it('fills in defaults a resource without API-server defaulting lacks', () => {
    const bare = authorizationServer('idp');
    const spec = bare.spec as Partial<typeof bare.spec>;
    delete spec.enabled;
    delete spec.allowedAlgorithms;
    delete spec.clockSkew;
    const server = buildSidecarConfig(input({ servers: [{ resource: bare, keys: undefined }] }))
      .authorizationServers[0];
    expect(server).toMatchObject({ enabled: true, allowedAlgorithms: ['RS256'], clockSkewSeconds: 60 });
  });

  it('drops none/HS* algorithms and private or encryption key material whatever the input says', () => {
    const config = buildSidecarConfig(
      input({
        servers: [
          {
            resource: authorizationServer('idp', {
              allowedAlgorithms: ['none', 'HS256', 'ES256', 'RS256', 'RS256'],
            }),
            keys: {
              keys: [
                { ...rsaKey, d: 'secret', p: 'x', x5c: ['abc'] } as never,
                { kty: 'RSA', kid: 'enc', use: 'enc', n: 'a', e: 'AQAB' } as never,
                { kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' } as never,
              ],
            },
          },
        ],
      }),
    );
    expect(config.authorizationServers[0]?.allowedAlgorithms).toEqual(['ES256', 'RS256']);
    expect(config.authorizationServers[0]?.keys.keys).toEqual([rsaKey]);
  });

  it('keeps only resources of the namespace and whose workloadSelector matches', () => {
    const config = buildSidecarConfig(
      input({
        namespace: 'team-a',
        workloadLabels: { app: 'orders', tier: 'api' },
        servers: [
          { resource: authorizationServer('mine', {}, { namespace: 'team-a' }), keys: undefined },
          { resource: authorizationServer('theirs', {}, { namespace: 'team-b' }), keys: undefined },
          {
            resource: authorizationServer(
              'other-app',
              { workloadSelector: { matchLabels: { app: 'billing' } } },
              { namespace: 'team-a' },
            ),
            keys: undefined,
          },
        ],
        roles: [
          apiRole('all-pods', [{ name: 'p', paths: ['/'], access: 'Full' }], { namespace: 'team-a' }),
          apiRole('orders', [{ name: 'p', paths: ['/'], access: 'Full' }], {
            namespace: 'team-a',
            matchLabels: { app: 'orders' },
          }),
          apiRole('billing', [{ name: 'p', paths: ['/'], access: 'Full' }], {
            namespace: 'team-a',
            matchLabels: { app: 'billing' },
          }),
          apiRole('b-role', [{ name: 'p', paths: ['/'], access: 'Full' }], { namespace: 'team-b' }),
        ],
      }),
    );
    expect(config.namespace).toBe('team-a');
    expect(config.authorizationServers.map((s) => s.name)).toEqual(['mine']);
    expect(config.roles.map((r) => r.name)).toEqual(['all-pods', 'orders']);
  });

  it('applies every resource in standalone mode (no labels)', () => {
    const config = buildSidecarConfig(
      input({
        roles: [
          apiRole('billing', [{ name: 'p', paths: ['/'], access: 'Full' }], { matchLabels: { app: 'x' } }),
        ],
      }),
    );
    expect(config.roles).toHaveLength(1);
  });

  it('is deterministic: input order does not matter, and the digest ignores revision and time', () => {
    const a = buildSidecarConfig(input());
    const b = buildSidecarConfig(
      input({ roles: [...STANDARD_ROLES].reverse(), revision: 8, now: new Date(NOW.getTime() + 1000) }),
    );
    expect({ ...b, revision: 7, generatedAt: a.generatedAt }).toEqual(a);
    expect(configDigest(a)).toBe(configDigest(b));
    expect(configDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    const changed = buildSidecarConfig(input({ forwardAuthorization: true }));
    expect(configDigest(changed)).not.toBe(configDigest(a));
  });

  it('does not share objects with its input', () => {
    const roles = [apiRole('r', [{ name: 'p', paths: ['/a'], access: 'Full' }])];
    const config = buildSidecarConfig(input({ roles }));
    roles[0]!.spec.permissions[0]!.paths.push('/b');
    expect(config.roles[0]?.permissions[0]?.paths).toEqual(['/a']);
  });
});
