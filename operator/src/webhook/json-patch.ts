/**
 * A small RFC 6902 JSON Patch generator: enough for the shapes injection produces (objects gaining or
 * replacing keys, arrays gaining items at the end or having items replaced in place). Arrays are
 * compared index by index; a shorter array loses its tail from the end so later indexes stay valid.
 */
export type JsonPatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** RFC 6901: `~` → `~0`, `/` → `~1` (label keys such as `scopegate.io/inject` contain `/`). */
export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function createJsonPatch(before: unknown, after: unknown): JsonPatchOperation[] {
  const operations: JsonPatchOperation[] = [];
  diff(before, after, '', operations);
  return operations;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function diff(before: unknown, after: unknown, path: string, out: JsonPatchOperation[]): void {
  if (deepEqual(before, after)) return;
  if (isPlainObject(before) && isPlainObject(after)) {
    for (const key of Object.keys(before)) {
      if (after[key] === undefined && before[key] !== undefined) {
        out.push({ op: 'remove', path: `${path}/${escapePointerToken(key)}` });
      }
    }
    for (const [key, value] of Object.entries(after)) {
      if (value === undefined) continue;
      const child = `${path}/${escapePointerToken(key)}`;
      if (before[key] === undefined) out.push({ op: 'add', path: child, value });
      else diff(before[key], value, child, out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const common = Math.min(before.length, after.length);
    for (let i = before.length - 1; i >= after.length; i--) out.push({ op: 'remove', path: `${path}/${i}` });
    for (let i = 0; i < common; i++) diff(before[i], after[i], `${path}/${i}`, out);
    for (let i = common; i < after.length; i++)
      out.push({ op: 'add', path: `${path}/${i}`, value: after[i] });
    return;
  }
  out.push({ op: 'replace', path, value: after });
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keysA = Object.keys(a).filter((k) => a[k] !== undefined);
    const keysB = Object.keys(b).filter((k) => b[k] !== undefined);
    return keysA.length === keysB.length && keysA.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}
