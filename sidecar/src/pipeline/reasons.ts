/**
 * The one table of decision outcomes. A reason code is stable: it is the `code` of the error body,
 * the `reason` of the audit record and a metric label. Messages are safe to send to any client: they
 * say what failed, never which keys, roles or claims exist.
 */
export const REASONS = {
  allowed: { status: 200, message: 'the request is allowed' },
  token_missing: { status: 401, message: 'a Bearer access token is required' },
  token_malformed: { status: 401, message: 'the access token is malformed' },
  issuer_unknown: { status: 401, message: 'the access token issuer is not trusted' },
  server_disabled: { status: 401, message: 'the access token issuer is disabled' },
  signature_invalid: { status: 401, message: 'the access token signature is invalid' },
  algorithm_not_allowed: { status: 401, message: 'the access token signing algorithm is not allowed' },
  key_unknown: { status: 401, message: 'the access token signing key is unknown' },
  token_expired: { status: 401, message: 'the access token has expired' },
  token_not_yet_valid: { status: 401, message: 'the access token is not valid yet' },
  audience_mismatch: { status: 401, message: 'the access token audience is not accepted' },
  client_not_allowed: { status: 401, message: 'the client is not allowed' },
  claim_missing: { status: 401, message: 'a required claim is missing or has a value that is not allowed' },
  scope_missing: { status: 403, message: 'the access token carries no API role of this organization' },
  role_unknown: { status: 403, message: 'no API role in the access token is defined here' },
  permission_denied: { status: 403, message: 'the API roles do not permit this method on this path' },
  request_invalid: { status: 400, message: 'the request is invalid' },
  config_missing: { status: 503, message: 'the sidecar has no configuration yet' },
} as const satisfies Record<string, { status: 200 | 400 | 401 | 403 | 503; message: string }>;

export type ReasonCode = keyof typeof REASONS;
export const REASON_CODES = Object.keys(REASONS) as ReasonCode[];

/**
 * The RFC 6750 `WWW-Authenticate` value for a denied request, or undefined when none is due.
 * A request without a token gets the bare challenge (§3.1: no error code when no credentials).
 */
export function bearerChallenge(reason: ReasonCode): string | undefined {
  const status = REASONS[reason].status;
  if (reason === 'token_missing') return 'Bearer';
  if (status === 401) return 'Bearer error="invalid_token"';
  if (status === 403) return 'Bearer error="insufficient_scope"';
  if (status === 400) return 'Bearer error="invalid_request"';
  return undefined;
}
