/**
 * Header hygiene checked before any token work: pure functions over the request headers as Node
 * parsed them. A request that fails here is answered 400 `request_invalid` and never proxied.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Identity headers the sidecar sets for the application. */
export const IDENTITY_HEADERS = {
  clientId: 'x-scopegate-client-id',
  roles: 'x-scopegate-roles',
  adminId: 'x-scopegate-admin-id',
} as const;

/**
 * Every header under this prefix belongs to the sidecar. Refusing the whole prefix (not only the
 * three identity headers) keeps headers added in later versions unspoofable by today's clients.
 */
export const RESERVED_HEADER_PREFIX = 'x-scopegate-';

/**
 * Headers some frameworks read to replace the request method. The sidecar authorizes the method on
 * the request line; an application honouring one of these could run a method nobody authorized, so
 * a request carrying one is refused rather than silently stripped (the caller learns why).
 */
export const METHOD_OVERRIDE_HEADERS = [
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
] as const;

/**
 * Headers some frameworks (Symfony, IIS URL Rewrite) read to replace the request path. The sidecar
 * authorizes the path on the request line, so these are refused for the same reason.
 */
export const PATH_OVERRIDE_HEADERS = ['x-original-url', 'x-rewrite-url'] as const;

/** Why the request is refused before its token is read, or undefined when its headers are fine. */
export function findHeaderProblem(headers: IncomingHttpHeaders): string | undefined {
  for (const name of Object.keys(headers)) {
    if (name.startsWith(RESERVED_HEADER_PREFIX)) {
      return `the ${name} header is set by the sidecar and must not be sent by clients`;
    }
  }
  for (const name of METHOD_OVERRIDE_HEADERS) {
    if (headers[name] !== undefined) {
      return `the ${name} header is not accepted: the method on the request line is the one authorized`;
    }
  }
  for (const name of PATH_OVERRIDE_HEADERS) {
    if (headers[name] !== undefined) {
      return `the ${name} header is not accepted: the path on the request line is the one authorized`;
    }
  }
  return undefined;
}

/**
 * The Authorization header(s) exactly as received. Node keeps only the first of duplicated
 * Authorization headers in `headers`, so they are read from the raw list: a request carrying two
 * (one for the sidecar, another for a lenient application) is seen as such and refused downstream.
 */
export function authorizationOf(rawHeaders: readonly string[]): string | string[] | undefined {
  let found: string | string[] | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== 13 || name.toLowerCase() !== 'authorization') continue;
    const value = rawHeaders[i + 1] as string;
    found = found === undefined ? value : Array.isArray(found) ? [...found, value] : [found, value];
  }
  return found;
}

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The caller's x-request-id when it is a sane token, so traces join up; otherwise undefined. */
export function acceptableRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && REQUEST_ID.test(value) ? value : undefined;
}
