/** The two kinds as data: names, schemas, printer columns. Everything generated derives from this. */
import { Type, type TSchema } from '@sinclair/typebox';
import { ApiRoleSpec, ApiRoleStatus, ROLE_NAME_MAX, ROLE_NAME_PATTERN } from './api-role.js';
import { AuthorizationServerSpec, AuthorizationServerStatus } from './authorization-server.js';
import { GROUP, VERSION } from './common.js';
import { withRules, type Rule } from './schema-kit.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

export interface ResourceKind {
  kind: 'ApiRole' | 'AuthorizationServer';
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TSchema;
  status: TSchema;
  /** Rules on the whole object (CEL may read metadata.name there). */
  rootRules: Rule<{ metadata: { name: string }; spec: Record<string, unknown> }>[];
  printerColumns: PrinterColumn[];
}

const readyColumn: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'Whether the operator accepted the resource and sidecars enforce it.',
};
const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'date',
  jsonPath: '.metadata.creationTimestamp',
  description: 'Time since creation.',
};

export const API_ROLE: ResourceKind = {
  kind: 'ApiRole',
  plural: 'apiroles',
  singular: 'apirole',
  shortNames: ['apir', 'sgrole'],
  description:
    'An API role: what a machine client whose access token carries <cloudName>::<orgId>::<roleName> in its scope claim may call on the protected APIs of this namespace.',
  spec: ApiRoleSpec,
  status: ApiRoleStatus,
  rootRules: [
    {
      rule: `has(self.spec.roleName) || self.metadata.name.size() <= ${ROLE_NAME_MAX}`,
      message: `metadata.name is longer than ${ROLE_NAME_MAX} characters, so it cannot be the role name: set spec.roleName`,
      check: (o) => o.spec['roleName'] !== undefined || o.metadata.name.length <= ROLE_NAME_MAX,
    },
    {
      rule: `has(self.spec.roleName) || self.metadata.name.matches('${ROLE_NAME_PATTERN}')`,
      message: "metadata.name is not a valid role name (letters, digits, '_', '.', '-'): set spec.roleName",
      check: (o) => o.spec['roleName'] !== undefined || new RegExp(ROLE_NAME_PATTERN).test(o.metadata.name),
    },
  ],
  printerColumns: [
    { name: 'Role', type: 'string', jsonPath: '.status.roleName', description: 'The role name in effect.' },
    {
      name: 'Scope',
      type: 'string',
      jsonPath: '.status.scope',
      description: 'The scope value to configure in the identity provider.',
    },
    readyColumn,
    ageColumn,
    {
      name: 'Admin-ID',
      type: 'string',
      jsonPath: '.status.adminId',
      description: 'The admin ID in audit records.',
      priority: 1,
    },
  ],
};

export const AUTHORIZATION_SERVER: ResourceKind = {
  kind: 'AuthorizationServer',
  plural: 'authorizationservers',
  singular: 'authorizationserver',
  shortNames: ['authserver', 'sgauth'],
  description:
    'A trusted OAuth 2.0 authorization server (Okta, Microsoft Entra ID, PingFederate or any standards-compliant one) whose client-credentials access tokens the protected APIs of this namespace accept.',
  spec: AuthorizationServerSpec,
  status: AuthorizationServerStatus,
  rootRules: [],
  printerColumns: [
    { name: 'Provider', type: 'string', jsonPath: '.spec.provider', description: 'Kind of server.' },
    { name: 'Issuer', type: 'string', jsonPath: '.spec.issuer', description: 'Expected iss claim.' },
    {
      name: 'Enabled',
      type: 'boolean',
      jsonPath: '.spec.enabled',
      description: 'Whether tokens are accepted.',
    },
    { name: 'Keys', type: 'integer', jsonPath: '.status.keyCount', description: 'Keys currently trusted.' },
    readyColumn,
    ageColumn,
  ],
};

export const RESOURCE_KINDS = [API_ROLE, AUTHORIZATION_SERVER] as const;

const objectSchemas = new Map<ResourceKind, TSchema>();

/** The schema of a whole object of this kind (what the CRD's openAPIV3Schema holds). */
export function objectSchema(kind: ResourceKind): TSchema {
  let schema = objectSchemas.get(kind);
  if (schema === undefined) {
    schema = buildObjectSchema(kind);
    objectSchemas.set(kind, schema);
  }
  return schema;
}

function buildObjectSchema(kind: ResourceKind): TSchema {
  return withRules(
    Type.Object(
      {
        apiVersion: Type.Optional(
          Type.String({
            description: 'APIVersion defines the versioned schema of this object: scopegate.io/v1alpha1.',
          }),
        ),
        kind: Type.Optional(Type.String({ description: `Kind is ${kind.kind}.` })),
        // The API server owns metadata's schema and refuses anything but `type: object` here.
        metadata: Type.Optional(Type.Unsafe<Record<string, unknown>>({ type: 'object' })),
        spec: kind.spec,
        status: Type.Optional(kind.status),
      },
      { description: kind.description },
    ),
    kind.rootRules as Rule[],
  );
}

/** The schema as plain JSON, with defaulted fields optional: what the CRD and validators use. */
export function plainObjectSchema(kind: ResourceKind): Record<string, unknown> {
  return plain(objectSchema(kind));
}

export function crdName(kind: ResourceKind): string {
  return `${kind.plural}.${GROUP}`;
}

/** Plain JSON (drops TypeBox's symbol keys and our rule twins). */
function plain(schema: TSchema): Record<string, unknown> {
  return optionalWhenDefaulted(JSON.parse(JSON.stringify(schema))) as Record<string, unknown>;
}

/**
 * A field with a default is never missing after defaulting, so our TypeScript types keep it required;
 * in the CRD it must be optional, or `kubectl explain` would tell users to set it.
 */
function optionalWhenDefaulted(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(optionalWhenDefaulted);
  if (node === null || typeof node !== 'object') return node;
  const out = Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === 'default' ? v : optionalWhenDefaulted(v)]),
  ) as Record<string, unknown>;
  const properties = out['properties'] as Record<string, Record<string, unknown>> | undefined;
  if (Array.isArray(out['required']) && properties !== undefined) {
    const required = (out['required'] as string[]).filter(
      (name) => properties[name]?.['default'] === undefined,
    );
    if (required.length > 0) out['required'] = required;
    else delete out['required'];
  }
  return out;
}

export function customResourceDefinition(kind: ResourceKind): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: crdName(kind),
      labels: { 'app.kubernetes.io/name': 'scopegate', 'app.kubernetes.io/part-of': 'scopegate' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.singular,
        shortNames: kind.shortNames,
        categories: ['scopegate'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: kind.printerColumns,
          schema: { openAPIV3Schema: plainObjectSchema(kind) },
        },
      ],
    },
  };
}
