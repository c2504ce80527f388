/**
 * What the application receives and what the caller gets back, as pure header rewrites applied by
 * the proxy: hop-by-hop headers removed both ways (RFC 9110 §7.6.1), the identity headers set from
 * the decision, Authorization forwarded or stripped by config.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { IDENTITY_HEADERS } from './request-checks.js';

/**
 * Connection-specific headers that must not cross the proxy. `expect` is answered by Node itself,
 * `proxy-authorization` is meant for this hop only; undici refuses most of the others outright.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'expect',
]);

export interface Identity {
  clientId?: string;
  roles: string[];
  /** The admin ID of the role whose permission matched. */
  adminId?: string;
}

export interface UpstreamHeaderOptions {
  forwardAuthorization: boolean;
  requestId: string;
}

/** Header names listed in a Connection header, which are hop-by-hop for this message only. */
function connectionListed(connection: string | string[] | number | undefined): string[] {
  if (connection === undefined || typeof connection === 'number') return [];
  const text = Array.isArray(connection) ? connection.join(',') : connection;
  return text
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}

/** Runs on every proxied request, both ways: a plain loop, lower-casing only names that need it. */
function withoutHopByHop<T extends Record<string, unknown>>(headers: T, listed: string[]): T {
  const out: Record<string, unknown> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = /[A-Z]/.test(name) ? name.toLowerCase() : name;
    if (HOP_BY_HOP.has(lower) || (listed.length > 0 && listed.includes(lower))) continue;
    out[lower] = value;
  }
  return out as T;
}

/**
 * The request headers for the application. `incoming` are the caller's headers (reply-from has
 * already set `host`); the connection-listed names are read from `originalConnection` because
 * reply-from drops the Connection header itself before this runs.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  identity: Identity,
  options: UpstreamHeaderOptions,
  originalConnection?: string | string[],
): IncomingHttpHeaders {
  const headers = withoutHopByHop(incoming, connectionListed(originalConnection ?? incoming.connection));
  if (!options.forwardAuthorization) delete headers.authorization;
  // Belt and braces: the caller's copies were refused already, these are ours.
  for (const name of Object.values(IDENTITY_HEADERS)) delete headers[name];
  if (identity.clientId !== undefined) headers[IDENTITY_HEADERS.clientId] = headerSafe(identity.clientId);
  headers[IDENTITY_HEADERS.roles] = identity.roles.map(headerSafe).join(',');
  if (identity.adminId !== undefined) headers[IDENTITY_HEADERS.adminId] = headerSafe(identity.adminId);
  headers['x-request-id'] = options.requestId;
  return headers;
}

/** The application's response headers for the caller, hop-by-hop ones removed. */
export function downstreamResponseHeaders(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  return withoutHopByHop(headers, connectionListed(headers['connection'] as string | string[] | undefined));
}

/**
 * A claim value as a header value. Role names and admin IDs are plain ASCII by construction, but a
 * client ID comes from the token: anything outside printable ASCII (and `%` itself) is
 * percent-encoded so no value can break or smuggle a header line.
 */
export function headerSafe(value: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(value)) return value;
  return value.replace(/[^\x20-\x24\x26-\x7e]/gu, (ch) => {
    try {
      return encodeURIComponent(ch);
    } catch {
      return '%EF%BF%BD'; // a lone surrogate: U+FFFD
    }
  });
}
