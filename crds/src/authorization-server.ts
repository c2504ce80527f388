import { Type, type Static } from '@sinclair/typebox';
import { Conditions, WorkloadSelector, type ObjectMeta } from './common.js';
import { DURATION_PATTERN, parseDuration } from './duration.js';
import { StringEnum, StringMap, withRules } from './schema-kit.js';

export const PROVIDERS = ['Okta', 'EntraID', 'PingFederate', 'Generic'] as const;
export type Provider = (typeof PROVIDERS)[number];

/** Asymmetric JWS algorithms scopegate can verify. `none` and every HMAC (`HS*`) are never accepted. */
export const SUPPORTED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type Algorithm = (typeof SUPPORTED_ALGORITHMS)[number];

const CLAIM_NAME = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_:./-]+$' });
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

const b64url = (description: string) => Type.Optional(Type.String({ description, maxLength: 4096 }));

export const Jwk = withRules(
  Type.Object(
    {
      kty: StringEnum(['RSA', 'EC', 'OKP'], { description: 'Key type.' }),
      kid: Type.Optional(
        Type.String({ description: 'Key ID; tokens name it in their `kid` header.', maxLength: 256 }),
      ),
      use: Type.Optional(
        StringEnum(['sig'], { description: 'Public key use; only `sig` makes sense here.' }),
      ),
      alg: Type.Optional(Type.String({ description: 'Algorithm this key is meant for.', maxLength: 16 })),
      n: b64url('RSA modulus (base64url).'),
      e: b64url('RSA public exponent (base64url).'),
      crv: Type.Optional(
        StringEnum(['P-256', 'P-384', 'P-521', 'Ed25519'], { description: 'Curve of an EC or OKP key.' }),
      ),
      x: b64url('EC / OKP x coordinate (base64url).'),
      y: b64url('EC y coordinate (base64url).'),
      d: b64url('Private member: declared only so that it can be refused. Never put private keys here.'),
      p: b64url('Private member; refused.'),
      q: b64url('Private member; refused.'),
      dp: b64url('Private member; refused.'),
      dq: b64url('Private member; refused.'),
      qi: b64url('Private member; refused.'),
      k: b64url('Symmetric key material; refused (HMAC keys are never accepted).'),
    },
    { description: 'One public JSON Web Key (RFC 7517).' },
  ),
  [
    {
      rule: PRIVATE_JWK_MEMBERS.map((m) => `!has(self.${m})`).join(' && '),
      message:
        'jwks.inline must hold public keys only: remove the private or symmetric members (d, p, q, dp, dq, qi, k) and rotate that key, it has been exposed',
      check: (jwk) => PRIVATE_JWK_MEMBERS.every((m) => (jwk as Record<string, unknown>)[m] === undefined),
    },
    {
      rule: "self.kty != 'RSA' || (has(self.n) && has(self.e))",
      message: 'an RSA key needs both n and e',
      check: (jwk) => jwk.kty !== 'RSA' || (jwk.n !== undefined && jwk.e !== undefined),
    },
    {
      rule: "self.kty != 'EC' || (has(self.crv) && has(self.x) && has(self.y))",
      message: 'an EC key needs crv, x and y',
      check: (jwk) =>
        jwk.kty !== 'EC' || (jwk.crv !== undefined && jwk.x !== undefined && jwk.y !== undefined),
    },
    {
      rule: "self.kty != 'OKP' || (has(self.crv) && has(self.x))",
      message: 'an OKP key needs crv and x',
      check: (jwk) => jwk.kty !== 'OKP' || (jwk.crv !== undefined && jwk.x !== undefined),
    },
  ],
);
export type Jwk = Static<typeof Jwk>;

export const Jwks = withRules(
  Type.Object(
    {
      uri: Type.Optional(
        Type.String({
          description:
            "HTTPS URL of the server's JSON Web Key Set, e.g. https://example.okta.com/oauth2/default/v1/keys. The operator fetches it and hands the keys to the sidecars, which need no egress.",
          maxLength: 2048,
        }),
      ),
      refreshInterval: Type.Optional(
        Type.String({
          description:
            'How often the key set is fetched again (Go duration, at least 1m). A token with an unknown kid triggers an earlier, rate-limited fetch.',
          default: '1h',
          pattern: DURATION_PATTERN,
          maxLength: 32,
        }),
      ),
      caBundle: Type.Optional(
        Type.String({
          description:
            'PEM certificates trusted for the jwks.uri TLS connection, for servers behind a private CA. The system trust store is used when absent.',
          maxLength: 65536,
        }),
      ),
      inline: Type.Optional(
        Type.Object(
          {
            keys: Type.Array(Jwk, {
              description: 'The public keys.',
              minItems: 1,
              maxItems: 32,
            }),
          },
          {
            description: 'A JSON Web Key Set given in place, for servers whose keys are distributed by hand.',
          },
        ),
      ),
    },
    { description: "Where the server's signing keys come from: exactly one of uri or inline." },
  ),
  [
    {
      rule: 'has(self.uri) != has(self.inline)',
      message: 'set exactly one of jwks.uri or jwks.inline',
      check: (j) => (j.uri !== undefined) !== (j.inline !== undefined),
    },
    {
      rule: "!has(self.uri) || self.uri.startsWith('https://')",
      message: 'jwks.uri must be an https:// URL: keys fetched over plain HTTP could be replaced in transit',
      fieldPath: '.uri',
      check: (j) => j.uri === undefined || j.uri.startsWith('https://'),
    },
    {
      rule: "!has(self.refreshInterval) || duration(self.refreshInterval) >= duration('1m')",
      message: 'jwks.refreshInterval must be at least 1m',
      fieldPath: '.refreshInterval',
      check: (j) => j.refreshInterval === undefined || (parseDuration(j.refreshInterval) ?? 0) >= 60_000,
    },
  ],
);

export const AuthorizationServerSpec = Type.Object(
  {
    enabled: Type.Boolean({
      description:
        'Whether tokens from this server are accepted. A disabled server is kept but trusted by no sidecar.',
      default: true,
    }),
    description: Type.Optional(Type.String({ description: 'Free text for people.', maxLength: 256 })),
    provider: StringEnum(PROVIDERS, {
      description:
        'The kind of server, which selects the default claim mappings: Okta (scope in `scp`, client in `cid`), EntraID (`roles` then `scp`; `appid` then `azp`), PingFederate (`scp` then `scope`; `client_id`), Generic (`scope`, `scp`, `roles`; `client_id`, `azp`, `cid`, `appid`).',
    }),
    issuer: Type.String({
      description:
        "The issuer identifier: a token's `iss` claim must equal it exactly, e.g. https://example.okta.com/oauth2/default or https://login.microsoftonline.com/<tenant>/v2.0.",
      minLength: 1,
      maxLength: 2048,
    }),
    jwks: Jwks,
    audiences: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
        description: "When set, a token's `aud` must contain at least one of these values.",
        maxItems: 16,
      }),
    ),
    clientIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
        description: 'When set, only tokens issued to these client IDs are accepted.',
        maxItems: 256,
      }),
    ),
    claimMappings: Type.Optional(
      Type.Object(
        {
          scope: Type.Optional(
            Type.Array(CLAIM_NAME, {
              description:
                'Claims that carry the API roles, tried in order; the first present one is used. Values are an array or a space-separated string.',
              minItems: 1,
              maxItems: 4,
            }),
          ),
          clientId: Type.Optional(
            Type.Array(CLAIM_NAME, {
              description: 'Claims that carry the client ID, tried in order.',
              minItems: 1,
              maxItems: 4,
            }),
          ),
        },
        { description: "Overrides the provider's default claim names." },
      ),
    ),
    allowedAlgorithms: withRules(
      Type.Array(Type.String({ maxLength: 16 }), {
        description: `Signature algorithms accepted, from ${SUPPORTED_ALGORITHMS.join(', ')}. \`none\` and HMAC (HS256, HS384, HS512) are never accepted.`,
        default: ['RS256'],
        minItems: 1,
        maxItems: SUPPORTED_ALGORITHMS.length,
      }),
      [
        {
          rule: "self.all(a, a != 'none' && !a.startsWith('HS'))",
          message:
            "allowedAlgorithms must not contain 'none' or an HMAC algorithm (HS256, HS384, HS512): anyone who knows the public key could forge tokens",
          check: (algs) => algs.every((a) => a.toLowerCase() !== 'none' && !a.startsWith('HS')),
        },
        {
          rule: `self.all(a, a in [${SUPPORTED_ALGORITHMS.map((a) => `'${a}'`).join(', ')}])`,
          message: `allowedAlgorithms may contain only ${SUPPORTED_ALGORITHMS.join(', ')}`,
          check: (algs) => algs.every((a) => (SUPPORTED_ALGORITHMS as readonly string[]).includes(a)),
        },
      ],
    ),
    clockSkew: withRules(
      Type.String({
        description: 'Tolerance for exp, nbf and iat (Go duration, at most 5m).',
        default: '60s',
        pattern: DURATION_PATTERN,
        maxLength: 32,
      }),
      [
        {
          rule: "duration(self) <= duration('5m')",
          message: 'clockSkew must be at most 5m',
          check: (s) => (parseDuration(s) ?? Infinity) <= 300_000,
        },
      ],
    ),
    requiredClaims: Type.Optional(
      StringMap(
        Type.Array(Type.String({ maxLength: 512 }), {
          minItems: 1,
          maxItems: 32,
        }),
        {
          description:
            'Claims a token must carry, each with the values allowed (a claim matches when it equals one, or, for array claims, contains one).',
          maxProperties: 16,
        },
      ),
    ),
    workloadSelector: Type.Optional(WorkloadSelector),
  },
  { description: 'A trusted OAuth 2.0 authorization server that issues client-credentials access tokens.' },
);
export type AuthorizationServerSpec = Static<typeof AuthorizationServerSpec>;

export const AuthorizationServerStatus = Type.Object(
  {
    conditions: Type.Optional(Conditions),
    keyIds: Type.Optional(
      Type.Array(Type.String({ maxLength: 256 }), {
        description: 'IDs of the keys currently trusted.',
        maxItems: 64,
      }),
    ),
    keyCount: Type.Optional(
      Type.Integer({ description: 'How many keys are currently trusted.', minimum: 0 }),
    ),
    lastSuccessfulFetchTime: Type.Optional(
      Type.String({ description: 'When the key set was last fetched successfully.', format: 'date-time' }),
    ),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'The generation the operator last acted on.', minimum: 0 }),
    ),
  },
  { description: 'What the operator observed.' },
);
export type AuthorizationServerStatus = Static<typeof AuthorizationServerStatus>;

export interface AuthorizationServer {
  apiVersion: 'scopegate.io/v1alpha1';
  kind: 'AuthorizationServer';
  metadata: ObjectMeta;
  spec: AuthorizationServerSpec;
  status?: AuthorizationServerStatus;
}
