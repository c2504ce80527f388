/**
 * Permission path patterns: `/` then segments, each a literal or `*` (exactly one segment); a final
 * `**` matches any rest, including nothing. Literals are normalised like request paths, so they
 * compare by plain string equality.
 */
import { normalizeSegment } from './normalize-path.js';

export interface PathPattern {
  /** The pattern as written in the ApiRole. */
  source: string;
  /** `undefined` stands for `*`. */
  segments: (string | undefined)[];
  /** Ends in `**`. */
  anyRest: boolean;
}

export type CompiledPattern = { ok: true; pattern: PathPattern } | { ok: false; message: string };

export function compilePathPattern(source: string): CompiledPattern {
  if (!source.startsWith('/')) return { ok: false, message: `path pattern '${source}' must start with '/'` };
  const parts = source === '/' ? [] : source.slice(1).split('/');
  const anyRest = parts.at(-1) === '**';
  if (anyRest) parts.pop();
  const segments: (string | undefined)[] = [];
  for (const part of parts) {
    if (part === '*') {
      segments.push(undefined);
      continue;
    }
    if (part === '' || part.includes('*')) {
      return { ok: false, message: `path pattern '${source}' has an empty segment or a misplaced '*'` };
    }
    const literal = normalizeSegment(part, 'pattern');
    if (!literal.ok) return { ok: false, message: `path pattern '${source}': ${literal.message}` };
    segments.push(literal.value);
  }
  return { ok: true, pattern: { source, segments, anyRest } };
}

export function matchesPattern(pattern: PathPattern, path: readonly string[]): boolean {
  const { segments } = pattern;
  if (pattern.anyRest ? path.length < segments.length : path.length !== segments.length) return false;
  for (let i = 0; i < segments.length; i++) {
    const literal = segments[i];
    if (literal !== undefined && literal !== path[i]) return false;
  }
  return true;
}
