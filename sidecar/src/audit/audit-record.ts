/**
 * The audit record: one JSON line per decided request, schema `scopegate.io/audit/v1`, documented in
 * docs/audit.md. Every field is always present (null when it does not apply) so consumers can rely
 * on the shape. It never carries the token, the query string or any header value.
 */

export const AUDIT_SCHEMA = 'scopegate.io/audit/v1';

export interface AuditRecord {
  schema: typeof AUDIT_SCHEMA;
  /** When the response ended (ISO 8601, UTC). */
  time: string;
  requestId: string;
  decision: 'allow' | 'deny';
  /** The decision reason code (`allowed`, `token_expired`, `permission_denied`, ...). */
  reason: string;
  /** The HTTP status the caller received (for allowed requests, the application's, or 502/504). */
  status: number;
  /** Admin ID of the role whose permission decided: the one that allowed, or an `access: None` one that denied. */
  adminId: string | null;
  /** Admin IDs of every role of the caller that exists for this API. */
  adminIds: string[];
  roles: string[];
  /** Name of the permission that decided (allowed, or denied with `access: None`). */
  permission: string | null;
  clientId: string | null;
  issuer: string | null;
  /** The AuthorizationServer that verified the token, `namespace/name` (or `name` standalone). */
  server: string | null;
  method: string;
  /** The normalised path that was authorized (no query string); a path that could not be normalised is cut at 512 chars. */
  path: string;
  latencyMs: number;
  sourceAddress: string | null;
  /** Revision of the config that decided; 0 when there was none. */
  configRevision: number;
  /** Set when an allowed request failed upstream: `upstream_unavailable` or `upstream_timeout`. */
  upstreamError: string | null;
}

export interface AuditFacts {
  time: Date;
  requestId: string;
  allow: boolean;
  reason: string;
  status: number;
  method: string;
  path: string;
  latencyMs: number;
  sourceAddress: string | undefined;
  configRevision: number;
  principal?: {
    issuer?: string;
    server?: string;
    clientId?: string;
    roles: string[];
    adminIds: string[];
  };
  matched?: { adminId?: string; permission?: string };
  upstreamError?: string;
}

const MAX_PATH = 512;

export function buildAuditRecord(facts: AuditFacts): AuditRecord {
  const principal = facts.principal;
  return {
    schema: AUDIT_SCHEMA,
    time: facts.time.toISOString(),
    requestId: facts.requestId,
    decision: facts.allow ? 'allow' : 'deny',
    reason: facts.reason,
    status: facts.status,
    adminId: facts.matched?.adminId ?? null,
    adminIds: principal?.adminIds ?? [],
    roles: principal?.roles ?? [],
    permission: facts.matched?.permission ?? null,
    clientId: principal?.clientId ?? null,
    issuer: principal?.issuer ?? null,
    server: principal?.server ?? null,
    method: facts.method,
    path: facts.path.length > MAX_PATH ? facts.path.slice(0, MAX_PATH) : facts.path,
    latencyMs: Math.round(facts.latencyMs * 1000) / 1000,
    sourceAddress: facts.sourceAddress ?? null,
    configRevision: facts.configRevision,
    upstreamError: facts.upstreamError ?? null,
  };
}
