/**
 * Validates ApiRole and AuthorizationServer objects without an API server, with the same schema and
 * the TypeScript twins of the same CEL rules the CRDs carry. Used by the standalone sidecar and
 * `scopegate explain`, which read the very YAML `kubectl apply` takes.
 */
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ApiRole } from './api-role.js';
import type { AuthorizationServer } from './authorization-server.js';
import { API_VERSION } from './common.js';
import {
  API_ROLE,
  AUTHORIZATION_SERVER,
  objectSchema,
  plainObjectSchema,
  type ResourceKind,
} from './resources.js';
import { ruleChecksOf } from './schema-kit.js';

export type ScopegateResource = ApiRole | AuthorizationServer;

export interface FieldError {
  /** Dotted path into the object, e.g. `spec.permissions[0].access`. */
  field: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; resource: ScopegateResource }
  | { ok: false; kind?: string; name?: string; errors: FieldError[] };

const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** CRD semantics for a validator: objects reject fields they do not declare (kubectl's strict field validation). */
function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key.startsWith('x-kubernetes-') ? value : closeObjects(value);
  }
  if (
    out['type'] === 'object' &&
    out['properties'] !== undefined &&
    out['additionalProperties'] === undefined
  ) {
    out['additionalProperties'] = false;
  }
  return out;
}

function compile(kind: ResourceKind): ValidateFunction {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
  (addFormatsModule as unknown as (a: Ajv) => void)(ajv);
  const schema = closeObjects(plainObjectSchema(kind)) as Record<string, unknown>;
  // metadata is checked separately below; the API server owns its full schema.
  (schema['properties'] as Record<string, unknown>)['metadata'] = { type: 'object' };
  return ajv.compile(schema);
}

const validators = new Map<ResourceKind, ValidateFunction>();
function validatorFor(kind: ResourceKind): ValidateFunction {
  let v = validators.get(kind);
  if (v === undefined) {
    v = compile(kind);
    validators.set(kind, v);
  }
  return v;
}

function fieldOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((seg) => seg.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc === '' ? seg : `${acc}.${seg}`), '');
}

/** Phrases schema errors the way the API server does, so users meet one vocabulary. */
function describeAjvError(e: ErrorObject, root: unknown): FieldError {
  const field = fieldOf(e.instancePath);
  const value = valueAt(root, e.instancePath);
  const p = e.params as Record<string, unknown>;
  const child = (name: unknown) => (field === '' ? String(name) : `${field}.${String(name)}`);
  switch (e.keyword) {
    case 'required':
      return { field: child(p['missingProperty']), message: 'Required value' };
    case 'additionalProperties':
      return { field: child(p['additionalProperty']), message: 'field not declared in schema' };
    case 'enum':
      return {
        field,
        message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'maxLength':
      return { field, message: `Too long: may not be more than ${String(p['limit'])} bytes` };
    case 'minLength':
      return {
        field,
        message: `Invalid value: ${JSON.stringify(value)}: ${field} in body should be at least ${String(p['limit'])} chars long`,
      };
    case 'maxItems':
      return {
        field,
        message: `Too many: ${(value as unknown[]).length}: must have at most ${String(p['limit'])} items`,
      };
    case 'minItems':
      return {
        field,
        message: `Invalid value: ${(value as unknown[]).length}: ${field} in body should have at least ${String(p['limit'])} items`,
      };
    case 'pattern':
      return {
        field,
        message: `Invalid value: ${JSON.stringify(value)}: ${field} in body should match '${String(p['pattern'])}'`,
      };
    case 'type':
      return {
        field,
        message: `Invalid value: ${JSON.stringify(value)}: ${field} in body must be of type ${String(p['type'])}`,
      };
    default:
      return { field, message: e.message ?? e.keyword };
  }
}

function valueAt(root: unknown, instancePath: string): unknown {
  let node = root;
  for (const seg of instancePath.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[seg.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return node;
}

/** Runs every rule twin found in the schema tree against the value at the same place. */
function runRuleChecks(schema: TSchema, value: unknown, field: string, out: FieldError[]): void {
  if (value === undefined || value === null) return;
  for (const rule of ruleChecksOf(schema)) {
    let ok: boolean;
    try {
      ok = rule.check(value);
    } catch {
      ok = false;
    }
    if (!ok) out.push({ field: rule.fieldPath ? `${field}${rule.fieldPath}` : field, message: rule.message });
  }
  if (Array.isArray(value) && schema['items'] !== undefined) {
    value.forEach((item, i) => runRuleChecks(schema['items'] as TSchema, item, `${field}[${i}]`, out));
  } else if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const properties = schema['properties'] as Record<string, TSchema> | undefined;
    for (const [key, sub] of Object.entries(properties ?? {})) {
      runRuleChecks(sub, record[key], field === '' ? key : `${field}.${key}`, out);
    }
    const additional = schema['additionalProperties'];
    if (additional !== undefined && typeof additional === 'object') {
      for (const [key, item] of Object.entries(record)) {
        runRuleChecks(additional as TSchema, item, `${field}.${key}`, out);
      }
    }
  }
}

function kindOf(name: unknown): ResourceKind | undefined {
  if (name === 'ApiRole') return API_ROLE;
  if (name === 'AuthorizationServer') return AUTHORIZATION_SERVER;
  return undefined;
}

/**
 * Validates one object as the API server would and applies the schema defaults.
 * Never mutates the input; the returned resource is a defaulted copy.
 */
export function validateResource(input: unknown): ValidationResult {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return { ok: false, errors: [{ field: '', message: 'expected a Kubernetes object (a YAML mapping)' }] };
  }
  const object = structuredClone(input) as Record<string, unknown>;
  const kind = kindOf(object['kind']);
  const metadata = object['metadata'] as Record<string, unknown> | undefined;
  const name = typeof metadata?.['name'] === 'string' ? (metadata['name'] as string) : undefined;
  const errors: FieldError[] = [];
  if (kind === undefined) {
    return {
      ok: false,
      name,
      errors: [
        {
          field: 'kind',
          message: `expected ApiRole or AuthorizationServer, got ${JSON.stringify(object['kind'])}`,
        },
      ],
    };
  }
  if (object['apiVersion'] !== API_VERSION) {
    errors.push({
      field: 'apiVersion',
      message: `expected ${API_VERSION}, got ${JSON.stringify(object['apiVersion'])}`,
    });
  }
  if (name === undefined) errors.push({ field: 'metadata.name', message: 'Required value' });
  else if (name.length > 253 || !NAME_PATTERN.test(name)) {
    errors.push({
      field: 'metadata.name',
      message:
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'",
    });
  }
  const validate = validatorFor(kind);
  if (!validate(object)) errors.push(...(validate.errors ?? []).map((e) => describeAjvError(e, object)));
  if (errors.length === 0) runRuleChecks(objectSchema(kind), object, '', errors);
  if (errors.length > 0) return { ok: false, kind: kind.kind, name, errors };
  return { ok: true, resource: object as unknown as ScopegateResource };
}

export function formatFieldErrors(errors: FieldError[]): string {
  return errors.map((e) => (e.field === '' ? e.message : `${e.field}: ${e.message}`)).join('; ');
}
