/**
 * Classifies what went wrong on the way to the application into the two answers a caller gets:
 * 504 `upstream_timeout` when it did not answer in time, 502 `upstream_unavailable` otherwise.
 */
import type { ProxyErrorCode } from '../errors.js';

/** The label of scopegate_sidecar_upstream_errors_total. */
export type UpstreamErrorKind = 'refused' | 'reset' | 'timeout' | 'connect_timeout' | 'dns' | 'other';

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'FST_REPLY_FROM_GATEWAY_TIMEOUT',
  'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT',
]);

/** Error codes along the `cause` chain (reply-from wraps undici's errors, which wrap the socket's). */
function codesOf(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as { cause?: unknown }).cause;
  }
  return codes;
}

export function classifyUpstreamError(error: unknown): { kind: UpstreamErrorKind; code: ProxyErrorCode } {
  const codes = codesOf(error);
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return { kind: 'timeout', code: 'upstream_timeout' };
  if (codes.includes('ECONNREFUSED')) return { kind: 'refused', code: 'upstream_unavailable' };
  if (codes.includes('UND_ERR_CONNECT_TIMEOUT') || codes.includes('FST_REPLY_FROM_CONNECT_TIMEOUT')) {
    return { kind: 'connect_timeout', code: 'upstream_unavailable' };
  }
  if (codes.some((c) => c === 'ECONNRESET' || c === 'UND_ERR_SOCKET' || c === 'EPIPE')) {
    return { kind: 'reset', code: 'upstream_unavailable' };
  }
  if (codes.some((c) => c === 'ENOTFOUND' || c === 'EAI_AGAIN'))
    return { kind: 'dns', code: 'upstream_unavailable' };
  return { kind: 'other', code: 'upstream_unavailable' };
}
