/**
 * The sidecar server's error table: every response the sidecar writes itself (never the upstream's)
 * is `{"code", "message"}` JSON with a stable code. Decision reasons, their statuses and wording come
 * from the pipeline's table (pipeline/reasons.ts); this module adds the proxy and admin codes.
 */
import { bearerChallenge, REASONS, type ReasonCode } from './pipeline/reasons.js';

/** Codes of errors that are not request decisions: the proxy leg and the admin API. */
export type ProxyErrorCode = 'upstream_unavailable' | 'upstream_timeout' | 'internal_error';
export type AdminErrorCode =
  | 'config_signature_invalid'
  | 'config_invalid'
  | 'config_revision_stale'
  | 'config_push_disabled'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'not_found'
  | 'not_ready';

export interface ErrorBody {
  code: string;
  message: string;
}

const PROXY_ERRORS: Record<ProxyErrorCode, { status: number; message: string }> = {
  upstream_unavailable: { status: 502, message: 'the protected application is not reachable' },
  upstream_timeout: { status: 504, message: 'the protected application did not answer in time' },
  internal_error: { status: 500, message: 'the sidecar failed to handle the request' },
};

export function proxyError(code: ProxyErrorCode): { status: number; body: ErrorBody } {
  const { status, message } = PROXY_ERRORS[code];
  return { status, body: { code, message } };
}

export interface Denial {
  status: number;
  body: ErrorBody;
  /** RFC 6750 §3 `WWW-Authenticate` value, when one is due. */
  challenge?: string;
}

/**
 * The response for a denied request. Clients read the fixed sentence of the reasons table (never a
 * detail derived from the token); only `request_invalid` carries its detail, which describes the
 * request line or headers the caller sent. The challenge adds a short `error_description`.
 */
export function denial(reason: ReasonCode, detail?: string): Denial {
  const { status, message } = REASONS[reason] ?? REASONS.request_invalid;
  const text = reason === 'request_invalid' && detail !== undefined ? detail : message;
  const base = bearerChallenge(reason);
  const denied: Denial = { status, body: { code: reason, message: text } };
  if (base !== undefined) {
    denied.challenge =
      reason === 'token_missing' ? base : `${base}, error_description="${quoteSafe(message)}"`;
  }
  return denied;
}

/** Keeps a header parameter to printable ASCII without quotes or backslashes, and short. */
export function quoteSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, '').slice(0, 200);
}

/**
 * A mistake in how the sidecar was started (flags, files, keys): reported once, before listening,
 * and the process exits non-zero. Bad input at run time never throws this.
 */
export class SidecarStartupError extends Error {
  readonly code = 'ERR_SIDECAR_STARTUP';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SidecarStartupError';
  }
}
