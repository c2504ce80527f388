/** Claim checks that come after the signature: client ID and required claims. */

/** A claim the token itself carries (never an inherited property such as `constructor`). */
export function ownClaim(claims: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined;
}

/** The first of `claimNames` that holds a string (Entra ID v1 `appid`, v2 `azp`, ...). */
export function readClientId(
  claims: Record<string, unknown>,
  claimNames: readonly string[],
): string | undefined {
  for (const name of claimNames) {
    const value = ownClaim(claims, name);
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

/**
 * The first required claim that is missing or has no allowed value, or undefined when all pass.
 * A string claim must equal an allowed value; an array claim must contain one. Other types never match.
 */
export function failedRequiredClaim(
  claims: Record<string, unknown>,
  required: Record<string, string[]>,
): { claim: string; missing: boolean } | undefined {
  for (const [claim, allowed] of Object.entries(required)) {
    const value = ownClaim(claims, claim);
    if (value === undefined || value === null) return { claim, missing: true };
    const values = Array.isArray(value) ? value : [value];
    if (!values.some((v) => typeof v === 'string' && allowed.includes(v))) return { claim, missing: false };
  }
  return undefined;
}
