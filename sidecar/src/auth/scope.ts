/**
 * Scope values of the form `<cloudName>::<orgId>::<roleName>`, parsed strictly: exactly three
 * non-empty parts of letters, digits, `_ . -`. Anything else (another separator count, a stray `:`,
 * whitespace, other characters) is simply not a scope of ours. Comparison is exact and case-sensitive.
 */
import { SCOPE_PART_PATTERN } from '../config/schema.js';
import { ownClaim } from './claims.js';

export interface ScopeParts {
  cloudName: string;
  orgId: string;
  roleName: string;
}

const PART = new RegExp(SCOPE_PART_PATTERN);
/** Okta caps the whole scope parameter at 1024 characters; one scope cannot be longer. */
const MAX_SCOPE_LENGTH = 1024;

export function parseScope(value: unknown): ScopeParts | undefined {
  if (typeof value !== 'string' || value.length > MAX_SCOPE_LENGTH) return undefined;
  const parts = value.split('::');
  if (parts.length !== 3 || !parts.every((p) => PART.test(p))) return undefined;
  const [cloudName, orgId, roleName] = parts as [string, string, string];
  return { cloudName, orgId, roleName };
}

export function formatScope(parts: ScopeParts): string {
  return `${parts.cloudName}::${parts.orgId}::${parts.roleName}`;
}

/**
 * The scope values of a token: the first of `claimNames` present is used, as a JSON array of strings
 * or a space-separated string (providers differ; PingFederate can emit either).
 */
export function scopeValues(
  claims: Record<string, unknown>,
  claimNames: readonly string[],
): { claim: string; values: string[] } | undefined {
  for (const claim of claimNames) {
    const value = ownClaim(claims, claim);
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') return { claim, values: value.split(' ').filter((v) => v !== '') };
    if (Array.isArray(value))
      return { claim, values: value.filter((v): v is string => typeof v === 'string') };
    return { claim, values: [] };
  }
  return undefined;
}
