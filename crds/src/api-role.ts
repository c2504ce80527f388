import { Type, type Static } from '@sinclair/typebox';
import { Conditions, WorkloadSelector, type ObjectMeta } from './common.js';
import { StringEnum, withRules } from './schema-kit.js';

export const ACCESS_LEVELS = ['Full', 'ViewOnly', 'None'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Methods each access level grants. `None` grants nothing and denies what it matches. */
export const ACCESS_METHODS: Record<AccessLevel, readonly HttpMethod[]> = {
  Full: HTTP_METHODS,
  ViewOnly: ['GET', 'HEAD', 'OPTIONS'],
  None: [],
};

/** Role names become part of `<cloud>::<org>::<role>` and of the admin ID `oauth-<role>$@<org>.<domain>`. */
export const ROLE_NAME_PATTERN = '^[A-Za-z0-9_.-]+$';
export const ROLE_NAME_MAX = 64;

/**
 * A path pattern is `/` followed by segments; a segment is literal text or `*` (exactly one segment);
 * `**` may only be the last segment (any rest, including nothing). No `.`/`..` segments, no empty
 * segments, no query or fragment: a pattern must mean exactly one thing.
 */
export const PATH_PATTERN = '^/$|^(/([^/*?#\\s]+|\\*))*(/\\*\\*)?$';
const DOT_SEGMENT = '(^|/)\\.\\.?(/|$)';

export const Permission = withRules(
  Type.Object(
    {
      name: Type.String({
        description: 'A name for this permission, shown in audit records and by `scopegate explain`.',
        minLength: 1,
        maxLength: 64,
      }),
      paths: withRules(
        Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
          description:
            'Request paths this permission covers: exact paths like /v1/users, or patterns where `*` matches exactly one segment (/v1/users/*) and a final `**` matches any rest (/v1/reports/**). Paths are compared after normalisation (see the README).',
          minItems: 1,
          maxItems: 64,
        }),
        [
          {
            rule: `self.all(p, p.matches('${PATH_PATTERN.replaceAll('\\', '\\\\')}'))`,
            message:
              "each path must start with '/' and consist of literal segments, '*' (one whole segment) or a final '**'; no empty segments, '?', '#' or whitespace",
            check: (paths) => paths.every((p) => new RegExp(PATH_PATTERN).test(p)),
          },
          {
            rule: `self.all(p, !p.matches('${DOT_SEGMENT.replaceAll('\\', '\\\\')}'))`,
            message: "paths must not contain '.' or '..' segments",
            check: (paths) => paths.every((p) => !new RegExp(DOT_SEGMENT).test(p)),
          },
        ],
      ),
      access: Type.Optional(
        StringEnum(ACCESS_LEVELS, {
          description:
            'Full grants every method; ViewOnly grants GET, HEAD and OPTIONS; None denies every method on these paths and wins over any grant from any role.',
        }),
      ),
      methods: Type.Optional(
        Type.Array(StringEnum(HTTP_METHODS), {
          description: 'The methods granted, listed explicitly (instead of access).',
          minItems: 1,
          maxItems: HTTP_METHODS.length,
          'x-kubernetes-list-type': 'set',
        }),
      ),
    },
    { description: 'Methods on paths that the role may (or, with access None, may never) call.' },
  ),
  [
    {
      rule: 'has(self.access) != has(self.methods)',
      message: "set exactly one of 'access' (Full, ViewOnly or None) or 'methods'",
      check: (p) => (p.access !== undefined) !== (p.methods !== undefined),
    },
  ],
);
export type Permission = Static<typeof Permission>;

export const ApiRoleSpec = Type.Object(
  {
    roleName: Type.Optional(
      withRules(
        Type.String({
          description:
            'The role name in the scope string <cloudName>::<orgId>::<roleName>. Defaults to metadata.name. Letters, digits, _ . - only, at most 64.',
          minLength: 1,
          maxLength: ROLE_NAME_MAX,
        }),
        [
          {
            rule: `self.matches('${ROLE_NAME_PATTERN}')`,
            message:
              "roleName may contain only letters, digits, '_', '.' and '-' (no '::', '$', '@' or whitespace): it becomes part of the scope <cloudName>::<orgId>::<roleName> and of the admin ID",
            check: (n) => new RegExp(ROLE_NAME_PATTERN).test(n),
          },
        ],
      ),
    ),
    description: Type.Optional(Type.String({ description: 'Free text for people.', maxLength: 256 })),
    permissions: withRules(
      Type.Array(Permission, {
        description:
          "What the role may call. A request is allowed when some permission grants its method and path and no None permission of any of the caller's roles matches it.",
        minItems: 1,
        maxItems: 64,
      }),
      [
        {
          rule: 'self.all(p, self.exists_one(q, q.name == p.name))',
          message: 'permission names must be unique within a role',
          check: (ps) => new Set(ps.map((p) => p.name)).size === ps.length,
        },
      ],
    ),
    workloadSelector: Type.Optional(WorkloadSelector),
  },
  { description: 'An API role: what a client whose token carries this role in its scope may call.' },
);
export type ApiRoleSpec = Static<typeof ApiRoleSpec>;

export const ApiRoleStatus = Type.Object(
  {
    roleName: Type.Optional(
      Type.String({ description: 'The role name in effect.', maxLength: ROLE_NAME_MAX }),
    ),
    scope: Type.Optional(
      Type.String({
        description: 'The exact scope value to configure in the identity provider for clients of this role.',
        maxLength: 1024,
      }),
    ),
    adminId: Type.Optional(
      Type.String({
        description: "The admin ID under which this role's calls are audited.",
        maxLength: 1024,
      }),
    ),
    sidecars: Type.Optional(
      Type.Object(
        {
          selected: Type.Integer({ description: 'Protected pods this role applies to.', minimum: 0 }),
          current: Type.Integer({
            description: 'Of those, how many acknowledged the current configuration revision.',
            minimum: 0,
          }),
          revision: Type.Optional(
            Type.Integer({ description: 'The current configuration revision.', minimum: 0 }),
          ),
        },
        { description: 'Where the role stands in the sidecars that enforce it.' },
      ),
    ),
    conditions: Type.Optional(Conditions),
    observedGeneration: Type.Optional(
      Type.Integer({ description: 'The generation the operator last acted on.', minimum: 0 }),
    ),
  },
  { description: 'What the operator observed.' },
);
export type ApiRoleStatus = Static<typeof ApiRoleStatus>;

export interface ApiRole {
  apiVersion: 'scopegate.io/v1alpha1';
  kind: 'ApiRole';
  metadata: ObjectMeta;
  spec: ApiRoleSpec;
  status?: ApiRoleStatus;
}
