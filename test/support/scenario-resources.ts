/**
 * The e2e and demo scenario as data: the tenant, where everything listens, the resources applied, the
 * clients of the identity provider and the calls made with their expected outcomes. No I/O here;
 * scenario.ts runs it.
 */
import type { ProviderKind } from './provider-tokens.js';

export const TENANT = { cloud: 'acme', orgId: '1234567', cloudDomain: 'acme' } as const;
export const OTHER_ORG_ID = '7654321';

export const APP_NAMESPACE = 'shop';
/** Another team's namespace: its ApiRoles must never open the shop's API. */
export const OTHER_NAMESPACE = 'billing';
export const OPERATOR_NAMESPACE = 'scopegate-system';
/** The Helm release; its objects are named `scopegate` (the chart's full name). */
export const RELEASE = 'scopegate';
/** The name the operator gets as `POD_NAME` (its Lease identity), as if it ran in the Deployment's pod. */
export const OPERATOR_POD = 'scopegate-operator-0';
/**
 * Loopback addresses: the node (IdP, JWKS, Prometheus) is 127.0.0.1; the operator and each pod get their
 * own, above the 127.0.0.11-99 the integration tests use, so the tiers can run side by side.
 */
export const OPERATOR_HOST = '127.0.0.100';
export const APP_POD_IP = '127.0.0.101';
export const APP_POD = 'sample-api';
export const SIDECAR_LISTEN_PORT = 15900;
export const SIDECAR_ADMIN_PORT = 15901;
export const APP_PORT = 8080;
/** The image the webhook injects (the chart's, tag `dev`); the fake kubelet runs `scopegate` images as the local CLI. */
export const SIDECAR_IMAGE = 'ghcr.io/scopegate/scopegate:dev';
export const CHART_VALUES = [
  '--set',
  `tenant.cloudName=${TENANT.cloud}`,
  '--set-string',
  `tenant.orgId=${TENANT.orgId}`,
  '--set',
  'image.tag=dev',
];
/** The `aud` the vendor-shaped tokens carry (the IdP's own is its resource indicator). */
export const VENDOR_AUDIENCE = 'api://sample-api';
/** Entra ID v2.0 tokens carry the API's application (client) ID as `aud`. */
export const ENTRA_V2_AUDIENCE = '6e5c3e0a-5b7e-4b53-9d1c-6a0f3e7a2b11';

export const scope = (role: string, orgId: string = TENANT.orgId) => `${TENANT.cloud}::${orgId}::${role}`;
export const adminId = (role: string) => `oauth-${role}$@${TENANT.orgId}.${TENANT.cloudDomain}`;

/** Clients registered at the oidc-provider authorization server. */
export const IDP_CLIENTS = [
  { clientId: 'inventory-admin', clientSecret: 'inventory-admin-secret', scopes: [scope('admin')] },
  { clientId: 'inventory-reader', clientSecret: 'inventory-reader-secret', scopes: [scope('reader')] },
  {
    clientId: 'partner-other-org',
    clientSecret: 'partner-other-org-secret',
    scopes: [scope('admin', OTHER_ORG_ID)],
  },
  { clientId: 'monitoring-no-role', clientSecret: 'monitoring-no-role-secret', scopes: [] },
  { clientId: 'legacy-ghost-role', clientSecret: 'legacy-ghost-role-secret', scopes: [scope('ghost')] },
  { clientId: 'billing-auditor', clientSecret: 'billing-auditor-secret', scopes: [scope('auditor')] },
];

/**
 * Who calls the API. `idp` callers get a real client-credentials token from oidc-provider; `vendor`
 * callers get a token shaped like that vendor's, signed by that vendor's JWKS key.
 */
export type CallerSpec =
  | { kind: 'anonymous'; description: string }
  | { kind: 'idp'; clientId: string; description: string }
  | {
      kind: 'vendor';
      vendor: ProviderKind;
      clientId: string;
      roles: string[];
      description: string;
      audience?: string;
      expired?: boolean;
    }
  | { kind: 'forged'; from: string; description: string };

export const CALLERS = {
  anonymous: { kind: 'anonymous', description: 'no token at all' },
  admin: {
    kind: 'idp',
    clientId: 'inventory-admin',
    description: `oidc-provider client with ${scope('admin')}`,
  },
  reader: {
    kind: 'idp',
    clientId: 'inventory-reader',
    description: `oidc-provider client with ${scope('reader')}`,
  },
  'other-org': {
    kind: 'idp',
    clientId: 'partner-other-org',
    description: `oidc-provider client with ${scope('admin', OTHER_ORG_ID)} (another org)`,
  },
  'no-role': {
    kind: 'idp',
    clientId: 'monitoring-no-role',
    description: 'oidc-provider client with no scope',
  },
  'ghost-role': {
    kind: 'idp',
    clientId: 'legacy-ghost-role',
    description: `oidc-provider client with ${scope('ghost')} (no such ApiRole)`,
  },
  'other-namespace': {
    kind: 'idp',
    clientId: 'billing-auditor',
    description: `oidc-provider client with ${scope('auditor')}, an ApiRole of namespace ${OTHER_NAMESPACE} only`,
  },
  forged: {
    kind: 'forged',
    from: 'reader',
    description: "the reader's token with its scope edited to admin",
  },
  'okta-reader': {
    kind: 'vendor',
    vendor: 'okta',
    clientId: '0oa1okta2reader3',
    roles: [scope('reader')],
    description: 'Okta-shaped token: scp array, cid',
  },
  'okta-expired': {
    kind: 'vendor',
    vendor: 'okta',
    clientId: '0oa1okta2reader3',
    roles: [scope('admin')],
    expired: true,
    description: 'Okta-shaped token that expired an hour ago',
  },
  'okta-wrong-aud': {
    kind: 'vendor',
    vendor: 'okta',
    clientId: '0oa1okta2reader3',
    roles: [scope('admin')],
    audience: 'api://some-other-api',
    description: 'Okta-shaped token for another API',
  },
  'entra-admin': {
    kind: 'vendor',
    vendor: 'entra-v1',
    clientId: 'c0ffee00-1111-2222-3333-444455556666',
    roles: [scope('admin')],
    description: 'Entra ID v1.0-shaped token: roles array, appid',
  },
  'entra-v2-reader': {
    kind: 'vendor',
    vendor: 'entra-v2',
    clientId: 'beef0000-1111-2222-3333-444455556666',
    roles: [scope('reader')],
    audience: ENTRA_V2_AUDIENCE,
    description: 'Entra ID v2.0-shaped token: roles array, azp',
  },
  'ping-admin': {
    kind: 'vendor',
    vendor: 'pingfederate',
    clientId: 'ping-inventory-admin',
    roles: [scope('admin'), scope('reader')],
    description: 'PingFederate-shaped token: space-separated scope string, client_id',
  },
} as const satisfies Record<string, CallerSpec>;

export type CallerName = keyof typeof CALLERS;

export interface ExpectedCall {
  caller: CallerName;
  method: string;
  path: string;
  body?: object;
  headers?: Record<string, string>;
  status: number;
  /** `allowed`, or the sidecar's error code. */
  reason: string;
  /** Shown in the demo's table. */
  note?: string;
}

/** The calls of the scenario, in order, and what each must get. */
export const STANDARD_CALLS: ExpectedCall[] = [
  { caller: 'anonymous', method: 'GET', path: '/v1/items', status: 401, reason: 'token_missing' },
  { caller: 'admin', method: 'GET', path: '/v1/items', status: 200, reason: 'allowed' },
  {
    caller: 'admin',
    method: 'POST',
    path: '/v1/items',
    body: { name: 'widget' },
    status: 201,
    reason: 'allowed',
  },
  { caller: 'admin', method: 'GET', path: '/v1/admin/settings', status: 200, reason: 'allowed' },
  { caller: 'reader', method: 'GET', path: '/v1/items', status: 200, reason: 'allowed' },
  { caller: 'reader', method: 'GET', path: '/v1/items/1', status: 200, reason: 'allowed' },
  {
    caller: 'reader',
    method: 'POST',
    path: '/v1/items',
    body: { name: 'x' },
    status: 403,
    reason: 'permission_denied',
  },
  { caller: 'reader', method: 'GET', path: '/v1/admin/settings', status: 403, reason: 'permission_denied' },
  { caller: 'other-org', method: 'GET', path: '/v1/items', status: 403, reason: 'scope_missing' },
  { caller: 'no-role', method: 'GET', path: '/v1/items', status: 403, reason: 'scope_missing' },
  { caller: 'ghost-role', method: 'GET', path: '/v1/items', status: 403, reason: 'role_unknown' },
  {
    caller: 'other-namespace',
    method: 'GET',
    path: '/v1/items',
    status: 403,
    reason: 'role_unknown',
    note: `a role of namespace ${OTHER_NAMESPACE}`,
  },
  { caller: 'forged', method: 'GET', path: '/v1/admin/settings', status: 401, reason: 'signature_invalid' },
  {
    caller: 'admin',
    method: 'GET',
    path: '/v1/items',
    headers: { 'x-scopegate-client-id': 'someone-else' },
    status: 400,
    reason: 'request_invalid',
    note: 'spoofed identity header',
  },
  { caller: 'okta-reader', method: 'GET', path: '/v1/items', status: 200, reason: 'allowed' },
  { caller: 'okta-reader', method: 'DELETE', path: '/v1/items/1', status: 403, reason: 'permission_denied' },
  { caller: 'okta-expired', method: 'GET', path: '/v1/items', status: 401, reason: 'token_expired' },
  { caller: 'okta-wrong-aud', method: 'GET', path: '/v1/items', status: 401, reason: 'audience_mismatch' },
  {
    caller: 'entra-admin',
    method: 'POST',
    path: '/v1/items',
    body: { name: 'gadget' },
    status: 201,
    reason: 'allowed',
  },
  { caller: 'entra-v2-reader', method: 'GET', path: '/v1/items/1', status: 200, reason: 'allowed' },
  { caller: 'ping-admin', method: 'DELETE', path: '/v1/items/1', status: 200, reason: 'allowed' },
];

/** The reader after the role change: it may also create items. */
export const READER_CAN_POST: ExpectedCall = {
  caller: 'reader',
  method: 'POST',
  path: '/v1/items',
  body: { name: 'added by the reader' },
  status: 201,
  reason: 'allowed',
};

// --- Kubernetes objects ------------------------------------------------------------------------------

const GROUP_VERSION = 'scopegate.io/v1alpha1';

export function namespaces(): object[] {
  return [APP_NAMESPACE, OTHER_NAMESPACE].map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  }));
}

export function apiRoles(o: { readerCanPost?: boolean } = {}): object[] {
  const role = (namespace: string, name: string, description: string, permissions: object[]) => ({
    apiVersion: GROUP_VERSION,
    kind: 'ApiRole',
    metadata: { name, namespace },
    spec: { description, permissions },
  });
  return [
    role(APP_NAMESPACE, 'admin', 'Everything under /v1', [
      { name: 'everything', paths: ['/v1/**'], access: 'Full' },
    ]),
    role(APP_NAMESPACE, 'reader', 'Read items; never the admin settings', [
      { name: 'read-items', paths: ['/v1/items', '/v1/items/*'], access: 'ViewOnly' },
      ...(o.readerCanPost ? [{ name: 'create-items', paths: ['/v1/items'], methods: ['POST'] }] : []),
      { name: 'no-admin', paths: ['/v1/admin/**'], access: 'None' },
    ]),
    // Another team's role, with every permission: it applies to the pods of its own namespace only.
    role(OTHER_NAMESPACE, 'auditor', "The billing team's role", [
      { name: 'everything', paths: ['/**'], access: 'Full' },
    ]),
  ];
}

export interface ServerEndpoints {
  idp: { issuer: string; jwksUri: string; caPem: string; audience: string };
  vendors: Record<ProviderKind, { issuer: string; jwksUri: string; caPem: string }>;
}

export function authorizationServers(e: ServerEndpoints): object[] {
  const server = (name: string, spec: object) => ({
    apiVersion: GROUP_VERSION,
    kind: 'AuthorizationServer',
    metadata: { name, namespace: APP_NAMESPACE },
    spec,
  });
  const vendor = (kind: ProviderKind) => ({
    issuer: e.vendors[kind].issuer,
    jwks: { uri: e.vendors[kind].jwksUri, caBundle: e.vendors[kind].caPem, refreshInterval: '1h' },
  });
  return [
    server('corp-idp', {
      provider: 'Generic',
      description: 'The oidc-provider authorization server of the demo (client credentials, RS256 JWTs)',
      issuer: e.idp.issuer,
      jwks: { uri: e.idp.jwksUri, caBundle: e.idp.caPem, refreshInterval: '1h' },
      audiences: [e.idp.audience],
    }),
    server('okta', { provider: 'Okta', ...vendor('okta'), audiences: [VENDOR_AUDIENCE] }),
    server('entra', { provider: 'EntraID', ...vendor('entra-v1'), audiences: [VENDOR_AUDIENCE] }),
    server('entra-v2', { provider: 'EntraID', ...vendor('entra-v2'), audiences: [ENTRA_V2_AUDIENCE] }),
    server('pingfederate', {
      provider: 'PingFederate',
      ...vendor('pingfederate'),
      audiences: [VENDOR_AUDIENCE],
    }),
  ];
}

/** The sample app, opted in to injection; the webhook adds the sidecar when the API server admits it. */
export function samplePod(): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: APP_POD,
      namespace: APP_NAMESPACE,
      labels: { app: APP_POD, 'scopegate.io/inject': 'true' },
      annotations: {
        'scopegate.io/upstream-port': String(APP_PORT),
        'scopegate.io/listen-port': String(SIDECAR_LISTEN_PORT),
        'scopegate.io/admin-port': String(SIDECAR_ADMIN_PORT),
      },
    },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'app',
          image: 'scopegate-e2e/sample-api:dev',
          command: ['node', 'dist/test/e2e/sample-api.js'],
          args: ['--listen', `127.0.0.1:${APP_PORT}`],
          ports: [{ name: 'http', containerPort: APP_PORT }],
        },
      ],
    },
  };
}
