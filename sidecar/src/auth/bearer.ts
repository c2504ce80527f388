/**
 * The token comes from exactly one `Authorization: Bearer <token>` header (RFC 6750 §2.1): the scheme
 * is case-insensitive, followed by one space and b64token characters, nothing else. Never from a
 * query parameter, a cookie or a body.
 */
import type { ReasonCode } from '../pipeline/reasons.js';
import { MAX_TOKEN_LENGTH } from './token-shape.js';

export type BearerResult =
  | { ok: true; token: string }
  | {
      ok: false;
      reason: Extract<ReasonCode, 'token_missing' | 'token_malformed' | 'request_invalid'>;
      detail: string;
    };

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

export function extractBearerToken(authorization: string | string[] | undefined): BearerResult {
  if (Array.isArray(authorization) && authorization.length > 1) {
    return {
      ok: false,
      reason: 'request_invalid',
      detail: 'the request has more than one Authorization header',
    };
  }
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  if (value === undefined || value === '') {
    return { ok: false, reason: 'token_missing', detail: 'the request has no Authorization header' };
  }
  if (value.length > MAX_TOKEN_LENGTH + 'Bearer '.length) {
    return {
      ok: false,
      reason: 'token_malformed',
      detail: `the Authorization header is longer than ${MAX_TOKEN_LENGTH}`,
    };
  }
  const match = BEARER.exec(value);
  if (match === null) {
    const isBearer = /^bearer(\s|$)/i.test(value);
    return {
      ok: false,
      reason: 'token_malformed',
      detail: isBearer
        ? "the Authorization header must be 'Bearer', one space and the token (RFC 6750 characters only)"
        : 'the Authorization scheme is not Bearer',
    };
  }
  return { ok: true, token: match[1] as string };
}
