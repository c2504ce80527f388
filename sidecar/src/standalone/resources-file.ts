/**
 * Reads the standalone resources file: multi-document YAML of AuthorizationServer and ApiRole
 * objects, exactly what `kubectl apply -f` takes (a `kind: List` is unwrapped as kubectl does).
 * Pure: text in, validated and defaulted resources or every problem found out.
 */
import { parseAllDocuments } from 'yaml';
import {
  formatFieldErrors,
  validateResource,
  type ApiRole,
  type AuthorizationServer,
} from '../../../crds/src/index.js';

export interface Resources {
  servers: AuthorizationServer[];
  roles: ApiRole[];
}

export type ResourcesResult = { ok: true; resources: Resources } | { ok: false; errors: string[] };

/** Refuse absurd files before YAML parsing (aliases can expand; the CRDs cap sizes anyway). */
export const MAX_RESOURCES_FILE_BYTES = 4 * 1024 * 1024;

export function parseResources(text: string, fileName: string): ResourcesResult {
  if (Buffer.byteLength(text) > MAX_RESOURCES_FILE_BYTES) {
    return { ok: false, errors: [`${fileName}: larger than ${MAX_RESOURCES_FILE_BYTES} bytes`] };
  }
  const errors: string[] = [];
  const objects: { where: string; value: unknown }[] = [];
  const documents = parseAllDocuments(text, { uniqueKeys: true });
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const where = `${fileName}, document ${index + 1}`;
    if (document.errors.length > 0) {
      for (const error of document.errors) errors.push(`${where}: ${error.message.split('\n')[0]}`);
      return;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return; // an empty document (`---` at the end)
    if (isList(value)) {
      value.items.forEach((item, i) => objects.push({ where: `${where}, items[${i}]`, value: item }));
    } else {
      objects.push({ where, value });
    }
  });

  const servers: AuthorizationServer[] = [];
  const roles: ApiRole[] = [];
  const seen = new Map<string, string>();
  for (const { where, value } of objects) {
    const result = validateResource(value);
    if (!result.ok) {
      const what = [result.kind, result.name].filter((s) => s !== undefined).join(' ');
      errors.push(`${where}${what === '' ? '' : ` (${what})`}: ${formatFieldErrors(result.errors)}`);
      continue;
    }
    const resource = result.resource;
    const key = `${resource.kind}/${resource.metadata.namespace ?? ''}/${resource.metadata.name}`;
    const first = seen.get(key);
    if (first !== undefined) {
      errors.push(`${where}: ${resource.kind} ${resource.metadata.name} is already defined in ${first}`);
      continue;
    }
    seen.set(key, where);
    if (resource.kind === 'AuthorizationServer') servers.push(resource);
    else roles.push(resource);
  }
  const scopes = duplicateRoleNames(roles);
  for (const name of scopes) errors.push(`${fileName}: more than one ApiRole has the role name ${name}`);
  return errors.length > 0 ? { ok: false, errors } : { ok: true, resources: { servers, roles } };
}

function isList(value: unknown): value is { kind: 'List'; items: unknown[] } {
  const object = value as { kind?: unknown; items?: unknown };
  return (
    typeof value === 'object' &&
    value !== null &&
    (object.kind === 'List' || (typeof object.kind === 'string' && object.kind.endsWith('List'))) &&
    Array.isArray(object.items)
  );
}

/** Two roles with one role name would make `<cloud>::<org>::<role>` ambiguous. */
function duplicateRoleNames(roles: ApiRole[]): string[] {
  const counts = new Map<string, number>();
  for (const role of roles) {
    const key = `${role.metadata.namespace ?? ''}/${role.spec.roleName ?? role.metadata.name}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].filter(([, n]) => n > 1).map(([key]) => key.slice(key.indexOf('/') + 1));
}
