/**
 * Structural checks on a token before any key is touched: a signed compact JWT (three base64url
 * parts, a non-empty signature), of bounded size, whose header and payload are JSON objects. Its
 * claims are *unverified* here; they only pick the authorization server to verify with.
 */
import { CONFIG_BUNDLE_TYP } from '../config/contract.js';

/** Real access tokens are 1-2 KiB; Entra ID's largest stay well below this. */
export const MAX_TOKEN_LENGTH = 8192;

export interface UnverifiedToken {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

export type TokenShape = { ok: true; token: UnverifiedToken } | { ok: false; detail: string };

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function inspectToken(token: string): TokenShape {
  if (token.length > MAX_TOKEN_LENGTH)
    return { ok: false, detail: `the token is longer than ${MAX_TOKEN_LENGTH}` };
  const parts = token.split('.');
  if (parts.length === 5) return { ok: false, detail: 'encrypted tokens (JWE) are not accepted' };
  if (parts.length !== 3) return { ok: false, detail: 'the token is not a compact JWS (three parts)' };
  if (!parts.every((p) => BASE64URL.test(p) && p.length % 4 !== 1)) {
    return {
      ok: false,
      detail: 'a token part is empty or not base64url (an unsigned token has no signature)',
    };
  }
  const header = decodeJsonObject(parts[0] as string);
  const claims = decodeJsonObject(parts[1] as string);
  if (header === undefined) return { ok: false, detail: 'the token header is not a JSON object' };
  if (claims === undefined) return { ok: false, detail: 'the token payload is not a JSON object' };
  if (typeof header['alg'] !== 'string') return { ok: false, detail: 'the token header has no alg' };
  // Access tokens have no reason to use critical extensions; one we do not know must be refused (RFC 7515 §4.1.11).
  if (header['crit'] !== undefined)
    return { ok: false, detail: 'the token header has crit, which is not supported' };
  if (header['b64'] !== undefined)
    return { ok: false, detail: 'the token header has b64, which is not supported' };
  if (header['typ'] === CONFIG_BUNDLE_TYP)
    return { ok: false, detail: 'a config bundle is not an access token' };
  if (header['kid'] !== undefined && typeof header['kid'] !== 'string') {
    return { ok: false, detail: 'the token header kid is not a string' };
  }
  return { ok: true, token: { header, claims } };
}

function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(Buffer.from(part, 'base64url')));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
