import { describe, expect, it } from 'vitest';
import { buildSidecarConfig } from '../../../../sidecar/src/config/from-resources.js';
import { validateSidecarConfig } from '../../../../sidecar/src/config/validate.js';
import { authorizationServer, NOW, STANDARD_ROLES, TENANT } from '../builders.js';

const valid = () =>
  buildSidecarConfig({
    tenant: TENANT,
    revision: 1,
    now: NOW,
    servers: [
      {
        resource: authorizationServer('idp'),
        keys: { keys: [{ kty: 'RSA', kid: 'k', n: 'abc', e: 'AQAB' }] },
      },
    ],
    roles: STANDARD_ROLES,
  });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- mutations reach into arbitrary places on purpose
type Loose = Record<string, any>;
type Mutation = [string, (c: Loose) => void, RegExp];

describe('validateSidecarConfig', () => {
  it('accepts what buildSidecarConfig produces', () => {
    expect(validateSidecarConfig(valid()).ok).toBe(true);
  });

  it.each([null, 'x', 42, [], {}])('refuses %j', (input) => {
    expect(validateSidecarConfig(input).ok).toBe(false);
  });

  const mutations: Mutation[] = [
    ['unknown top-level field', (c) => (c.extra = 1), /unknown field 'extra'/],
    ['unknown nested field', (c) => (c.proxy.stripAll = true), /unknown field 'stripAll'/],
    ['unknown server field', (c) => (c.authorizationServers[0].jwksUri = 'https://x'), /unknown field/],
    ['wrong kind', (c) => (c.kind = 'Other'), /kind/],
    ['wrong apiVersion', (c) => (c.apiVersion = 'v2'), /apiVersion/],
    ['negative revision', (c) => (c.revision = -1), /revision/],
    ['fractional revision', (c) => (c.revision = 1.5), /revision/],
    ['bad generatedAt', (c) => (c.generatedAt = 'yesterday'), /generatedAt/],
    ['missing tenant', (c) => delete c.tenant, /missing field 'tenant'/],
    ['tenant with ::', (c) => (c.tenant.orgId = '1::2'), /orgId/],
    ['tenant with space', (c) => (c.tenant.cloudName = 'a b'), /cloudName/],
    ['HS256 allowed', (c) => (c.authorizationServers[0].allowedAlgorithms = ['HS256']), /allowedAlgorithms/],
    ['none allowed', (c) => (c.authorizationServers[0].allowedAlgorithms = ['none']), /allowedAlgorithms/],
    ['private key member', (c) => (c.authorizationServers[0].keys.keys[0].d = 'x'), /private/],
    ['symmetric key', (c) => (c.authorizationServers[0].keys.keys[0] = { kty: 'oct', k: 'x' }), /kty/],
    ['skew above 5m', (c) => (c.authorizationServers[0].clockSkewSeconds = 301), /clockSkewSeconds/],
    ['no scope claims', (c) => (c.authorizationServers[0].scopeClaims = []), /scopeClaims/],
    ['scope not derived', (c) => (c.roles[0].scope = 'demo::1234567::root'), /scope: must be/],
    ['adminId not derived', (c) => (c.roles[0].adminId = 'root'), /adminId: must be/],
    ['bad role name', (c) => (c.roles[0].roleName = 'a::b'), /roleName/],
    ['access and methods', (c) => (c.roles[0].permissions[0].methods = ['GET']), /exactly one of/],
    ['neither access nor methods', (c) => delete c.roles[0].permissions[0].access, /exactly one of/],
    ['unknown access', (c) => (c.roles[0].permissions[0].access = 'Some'), /access/],
    [
      'unknown method',
      (c) => (c.roles[1].permissions[0] = { name: 'x', paths: ['/'], methods: ['TRACE'] }),
      /methods/,
    ],
    ['dot segment pattern', (c) => (c.roles[0].permissions[0].paths = ['/a/../b']), /'\.' or '\.\.'/],
    ['misplaced **', (c) => (c.roles[0].permissions[0].paths = ['/**/a']), /paths/],
    [
      'duplicate permission names',
      (c) => c.roles[1].permissions.push({ ...c.roles[1].permissions[0] }),
      /unique/,
    ],
    ['no permissions', (c) => (c.roles[0].permissions = []), /permissions/],
  ];
  it.each(mutations)('refuses %s', (_name, mutate, message) => {
    const config = structuredClone(valid()) as Loose;
    mutate(config);
    const result = validateSidecarConfig(config);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.errors.join('\n')).toMatch(message);
  });

  it('reports every problem at once', () => {
    const config = structuredClone(valid()) as Loose;
    config.extra = 1;
    config.revision = -1;
    const result = validateSidecarConfig(config);
    expect(result.ok ? [] : result.errors).toHaveLength(2);
  });
});
