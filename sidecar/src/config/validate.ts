/**
 * Validates a SidecarConfig strictly: the JSON Schema with every object closed (unknown fields are
 * errors, as a typo in a security config must not be silently ignored), then the rules a schema
 * cannot express. Collects every problem instead of stopping at the first.
 */
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { ApiRoleSpec, Jwk, Permission } from '../../../crds/src/index.js';
import { ruleChecksOf } from '../../../crds/src/schema-kit.js';
import type { SidecarConfig } from './contract.js';
import { adminId, roleScope } from './from-resources.js';
import { SidecarConfigSchema } from './schema.js';

export type ConfigValidationResult = { ok: true; config: SidecarConfig } | { ok: false; errors: string[] };

let compiled: ValidateFunction | undefined;

export function validateSidecarConfig(input: unknown): ConfigValidationResult {
  compiled ??= compileSchema();
  if (!compiled(input)) return { ok: false, errors: (compiled.errors ?? []).map(describe) };
  const config = input as SidecarConfig;
  const errors = semanticErrors(config);
  return errors.length === 0 ? { ok: true, config } : { ok: false, errors };
}

function compileSchema(): ValidateFunction {
  // strict: false only because the shared resource schemas carry x-kubernetes-* annotations.
  const ajv = new Ajv({ allErrors: true, strict: false });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  return ajv.compile(closeObjects(JSON.parse(JSON.stringify(SidecarConfigSchema))) as object);
}

function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = closeObjects(value);
  if (
    out['type'] === 'object' &&
    out['properties'] !== undefined &&
    out['additionalProperties'] === undefined
  ) {
    out['additionalProperties'] = false;
  }
  return out;
}

function describe(e: ErrorObject): string {
  const at = e.instancePath === '' ? '(root)' : e.instancePath;
  if (e.keyword === 'additionalProperties')
    return `${at}: unknown field '${String(e.params.additionalProperty)}'`;
  if (e.keyword === 'required') return `${at}: missing field '${String(e.params.missingProperty)}'`;
  return `${at}: ${e.message ?? e.keyword}`;
}

/** The CEL-twin rules of the resource schemas, plus consistency of the derived role fields. */
function semanticErrors(config: SidecarConfig): string[] {
  const errors: string[] = [];
  const check = (schema: TSchema, value: unknown, at: string) => {
    for (const rule of ruleChecksOf(schema)) {
      let ok = false;
      try {
        ok = rule.check(value);
      } catch {
        ok = false;
      }
      if (!ok) errors.push(`${at}: ${rule.message}`);
    }
  };
  config.authorizationServers.forEach((server, s) => {
    server.keys.keys.forEach((key, k) => check(Jwk, key, `/authorizationServers/${s}/keys/keys/${k}`));
  });
  config.roles.forEach((role, r) => {
    const at = `/roles/${r}`;
    if (role.scope !== roleScope(config.tenant, role.roleName)) {
      errors.push(`${at}/scope: must be ${roleScope(config.tenant, role.roleName)}`);
    }
    if (role.adminId !== adminId(config.tenant, role.roleName)) {
      errors.push(`${at}/adminId: must be ${adminId(config.tenant, role.roleName)}`);
    }
    check(ApiRoleSpec.properties.permissions, role.permissions, `${at}/permissions`);
    role.permissions.forEach((permission, p) => {
      check(Permission, permission, `${at}/permissions/${p}`);
      check(Permission.properties.paths, permission.paths, `${at}/permissions/${p}/paths`);
    });
  });
  return errors;
}
