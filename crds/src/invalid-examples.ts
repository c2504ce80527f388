/**
 * Resources the API server must refuse, each with (part of) the message a person then reads. The same
 * table runs against the real kube-apiserver (integration) and against `validateResource` (unit), which
 * keeps the CEL rules and their TypeScript twins in agreement.
 */
import { API_VERSION } from './common.js';

export interface InvalidExample {
  name: string;
  manifest: Record<string, unknown>;
  /** A substring of the API server's error message (and of validateResource's). */
  expectedMessage: string;
}

const RSA_JWK = {
  kty: 'RSA',
  kid: 'k1',
  n: 'sXch9Zl9uG6Ww8f4xBq9H3sIKmiAVDZ9HLf0c1z2x6h7O5Bv1qZnX3o3n2w',
  e: 'AQAB',
};

function server(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'AuthorizationServer',
    metadata: { name },
    spec: {
      provider: 'Generic',
      issuer: 'https://idp.example.com',
      jwks: { uri: 'https://idp.example.com/keys' },
      ...spec,
    },
  };
}

function role(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: API_VERSION,
    kind: 'ApiRole',
    metadata: { name },
    spec: { permissions: [{ name: 'read', paths: ['/v1/items'], access: 'ViewOnly' }], ...spec },
  };
}

const perm = (p: Record<string, unknown>) => ({ permissions: [{ name: 'p', paths: ['/v1/items'], ...p }] });

export const invalidExamples: InvalidExample[] = [
  // AuthorizationServer
  {
    name: 'jwks with both uri and inline',
    manifest: server('both-jwks', {
      jwks: { uri: 'https://idp.example.com/keys', inline: { keys: [RSA_JWK] } },
    }),
    expectedMessage: 'set exactly one of jwks.uri or jwks.inline',
  },
  {
    name: 'jwks with neither uri nor inline',
    manifest: server('no-jwks', { jwks: {} }),
    expectedMessage: 'set exactly one of jwks.uri or jwks.inline',
  },
  {
    name: 'jwks.uri over plain http',
    manifest: server('http-jwks', { jwks: { uri: 'http://idp.example.com/keys' } }),
    expectedMessage: 'jwks.uri must be an https:// URL',
  },
  {
    name: "algorithm 'none'",
    manifest: server('alg-none', { allowedAlgorithms: ['none'] }),
    expectedMessage: "allowedAlgorithms must not contain 'none' or an HMAC algorithm",
  },
  {
    name: 'HMAC algorithm HS256',
    manifest: server('alg-hs256', { allowedAlgorithms: ['RS256', 'HS256'] }),
    expectedMessage: "allowedAlgorithms must not contain 'none' or an HMAC algorithm",
  },
  {
    name: 'unknown algorithm',
    manifest: server('alg-unknown', { allowedAlgorithms: ['RS1'] }),
    expectedMessage: 'allowedAlgorithms may contain only RS256',
  },
  {
    name: 'private key in inline JWKS',
    manifest: server('private-jwk', { jwks: { inline: { keys: [{ ...RSA_JWK, d: 'c2VjcmV0' }] } } }),
    expectedMessage: 'jwks.inline must hold public keys only',
  },
  {
    name: 'RSA key without modulus',
    manifest: server('rsa-no-n', { jwks: { inline: { keys: [{ kty: 'RSA', kid: 'x', e: 'AQAB' }] } } }),
    expectedMessage: 'an RSA key needs both n and e',
  },
  {
    name: 'unknown provider',
    manifest: server('bad-provider', { provider: 'Auth0' }),
    expectedMessage: 'Unsupported value: "Auth0"',
  },
  {
    name: 'missing issuer',
    manifest: (() => {
      const m = server('no-issuer', {});
      delete (m['spec'] as Record<string, unknown>)['issuer'];
      return m;
    })(),
    expectedMessage: 'spec.issuer: Required value',
  },
  {
    name: 'clock skew above 5m',
    manifest: server('big-skew', { clockSkew: '10m' }),
    expectedMessage: 'clockSkew must be at most 5m',
  },
  {
    name: 'refresh interval below 1m',
    manifest: server('fast-refresh', {
      jwks: { uri: 'https://idp.example.com/keys', refreshInterval: '5s' },
    }),
    expectedMessage: 'jwks.refreshInterval must be at least 1m',
  },
  {
    name: 'description longer than 256 characters',
    manifest: server('long-description', { description: 'x'.repeat(257) }),
    expectedMessage: 'Too long: may not be more than 256',
  },
  // ApiRole
  {
    name: "roleName containing '::'",
    manifest: role('colons', { roleName: 'ad::min' }),
    expectedMessage: "roleName may contain only letters, digits, '_', '.' and '-'",
  },
  {
    name: "roleName containing '$'",
    manifest: role('dollar', { roleName: 'ad$min' }),
    expectedMessage: "roleName may contain only letters, digits, '_', '.' and '-'",
  },
  {
    name: "roleName containing '@'",
    manifest: role('at', { roleName: 'admin@corp' }),
    expectedMessage: "roleName may contain only letters, digits, '_', '.' and '-'",
  },
  {
    name: 'roleName containing a space',
    manifest: role('space', { roleName: 'read only' }),
    expectedMessage: "roleName may contain only letters, digits, '_', '.' and '-'",
  },
  {
    name: 'roleName longer than 64 characters',
    manifest: role('long-role', { roleName: 'r'.repeat(65) }),
    expectedMessage: 'Too long: may not be more than 64',
  },
  {
    name: 'metadata.name too long to be the role name',
    manifest: role('a'.repeat(70), {}),
    expectedMessage: 'metadata.name is longer than 64 characters',
  },
  {
    name: 'permission with both access and methods',
    manifest: role('both', perm({ access: 'Full', methods: ['GET'] })),
    expectedMessage: "set exactly one of 'access' (Full, ViewOnly or None) or 'methods'",
  },
  {
    name: 'permission with neither access nor methods',
    manifest: role('neither', perm({})),
    expectedMessage: "set exactly one of 'access' (Full, ViewOnly or None) or 'methods'",
  },
  {
    name: 'unknown access level',
    manifest: role('bad-access', perm({ access: 'ReadWrite' })),
    expectedMessage: 'Unsupported value: "ReadWrite"',
  },
  {
    name: 'unknown method',
    manifest: role('bad-method', perm({ methods: ['FETCH'] })),
    expectedMessage: 'Unsupported value: "FETCH"',
  },
  {
    name: "path not starting with '/'",
    manifest: role('relative-path', { permissions: [{ name: 'p', paths: ['v1/items'], access: 'Full' }] }),
    expectedMessage: "each path must start with '/'",
  },
  {
    name: "'**' not at the end of a path",
    manifest: role('mid-glob', { permissions: [{ name: 'p', paths: ['/v1/**/items'], access: 'Full' }] }),
    expectedMessage: "each path must start with '/'",
  },
  {
    name: "'*' mixed with text in a segment",
    manifest: role('partial-glob', { permissions: [{ name: 'p', paths: ['/v1/item*'], access: 'Full' }] }),
    expectedMessage: "each path must start with '/'",
  },
  {
    name: "path with a '..' segment",
    manifest: role('dotdot', { permissions: [{ name: 'p', paths: ['/v1/../admin'], access: 'Full' }] }),
    expectedMessage: "paths must not contain '.' or '..' segments",
  },
  {
    name: 'path with a query string',
    manifest: role('query', { permissions: [{ name: 'p', paths: ['/v1/items?all=true'], access: 'Full' }] }),
    expectedMessage: "each path must start with '/'",
  },
  {
    name: 'no permissions',
    manifest: role('empty', { permissions: [] }),
    expectedMessage: 'should have at least 1 items',
  },
  {
    name: 'duplicate permission names',
    manifest: role('dup-perm', {
      permissions: [
        { name: 'p', paths: ['/a'], access: 'Full' },
        { name: 'p', paths: ['/b'], access: 'ViewOnly' },
      ],
    }),
    expectedMessage: 'permission names must be unique within a role',
  },
];
