/**
 * The JSON Schema of the SidecarConfig contract (TypeBox), used to validate every bundle a sidecar
 * receives and every config the operator renders. It reuses the resource schemas for keys and
 * permissions, so a permission means the same thing in an ApiRole and in a bundle.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Jwk, Permission, PROVIDERS, ROLE_NAME_MAX, SUPPORTED_ALGORITHMS } from '../../../crds/src/index.js';
import { SIDECAR_CONFIG_API_VERSION, SIDECAR_CONFIG_KIND, type SidecarConfig } from './contract.js';

/** Each part of `<cloudName>::<orgId>::<roleName>`: what a role name may contain (ROLE_NAME_PATTERN). */
export const SCOPE_PART_PATTERN = '^[A-Za-z0-9_.-]+$';

const enumOf = <const V extends readonly string[]>(values: V) =>
  Type.Unsafe<V[number]>({ type: 'string', enum: [...values] });
const claimName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_:./-]+$' });

export const TenantSchema = Type.Object({
  cloudName: Type.String({ minLength: 1, maxLength: 253, pattern: SCOPE_PART_PATTERN }),
  orgId: Type.String({ minLength: 1, maxLength: 64, pattern: SCOPE_PART_PATTERN }),
  cloudDomain: Type.String({ minLength: 1, maxLength: 253, pattern: SCOPE_PART_PATTERN }),
});

export const SidecarAuthorizationServerSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253 }),
  namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  enabled: Type.Boolean(),
  provider: enumOf(PROVIDERS),
  issuer: Type.String({ minLength: 1, maxLength: 2048 }),
  audiences: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 16 }),
  clientIds: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 256 }),
  scopeClaims: Type.Array(claimName, { minItems: 1, maxItems: 4 }),
  clientIdClaims: Type.Array(claimName, { minItems: 1, maxItems: 4 }),
  allowedAlgorithms: Type.Array(enumOf(SUPPORTED_ALGORITHMS), {
    minItems: 1,
    maxItems: SUPPORTED_ALGORITHMS.length,
  }),
  clockSkewSeconds: Type.Number({ minimum: 0, maximum: 300 }),
  requiredClaims: Type.Record(
    Type.String({ minLength: 1, maxLength: 128 }),
    Type.Array(Type.String({ maxLength: 512 }), { minItems: 1, maxItems: 32 }),
  ),
  keys: Type.Object({ keys: Type.Array(Jwk, { maxItems: 64 }) }),
  keysFetchedAt: Type.Optional(Type.String({ format: 'date-time' })),
});

export const SidecarRoleSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 253 }),
  roleName: Type.String({ minLength: 1, maxLength: ROLE_NAME_MAX, pattern: SCOPE_PART_PATTERN }),
  scope: Type.String({ minLength: 1, maxLength: 1024 }),
  adminId: Type.String({ minLength: 1, maxLength: 1024 }),
  permissions: Type.Array(Permission, { minItems: 1, maxItems: 64 }),
});

export const SidecarConfigSchema = Type.Object({
  apiVersion: Type.Literal(SIDECAR_CONFIG_API_VERSION),
  kind: Type.Literal(SIDECAR_CONFIG_KIND),
  revision: Type.Integer({ minimum: 0 }),
  generatedAt: Type.String({ format: 'date-time' }),
  tenant: TenantSchema,
  namespace: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
  authorizationServers: Type.Array(SidecarAuthorizationServerSchema, { maxItems: 256 }),
  roles: Type.Array(SidecarRoleSchema, { maxItems: 1024 }),
  proxy: Type.Object({ forwardAuthorization: Type.Boolean() }),
});

// Compile-time proof that the schema and the contract's hand-written types describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesContract: Same<Static<typeof SidecarConfigSchema>, SidecarConfig> = true;
void schemaMatchesContract;
