/**
 * Request paths are authorized in exactly the form the upstream receives, so there is nothing for a
 * parser mismatch between us and the app to exploit. Rather than guess how the app would read an
 * ambiguous path, we reject it (400 request_invalid). The rules (also in docs/security.md):
 *
 * - The request target must be origin-form (`/...`); `*` and absolute URLs are rejected.
 * - Rejected anywhere in the path: `\`, `;` (path parameters, which Java servers strip before routing),
 *   `#`, control characters, raw non-ASCII, and the encoded forms `%2F` `%5C` `%3B` `%25` (a double
 *   encoding) and `%00`-`%1F`/`%7F`; malformed `%` escapes; percent-encodings that are not valid UTF-8
 *   (e.g. overlong `%C0%AE`).
 * - `.` and `..` segments are rejected, also when spelled with `%2E`.
 * - Empty segments are collapsed: `//a///b` is `/a/b`.
 * - Every character has one spelling: characters allowed raw in a segment (RFC 3986 pchar minus `;`)
 *   are decoded (`%61` is `a`), every other byte stays percent-encoded with upper-case hex.
 * - A trailing slash is kept (it is forwarded), but matching ignores it: `/a/` is governed by exactly
 *   the same permissions as `/a`.
 * - Matching is case-sensitive; the query string is kept as received and is not matched.
 *
 * The proxy forwards `path + search` exactly as returned here, never the original text.
 */

export type NormalizedUrl = { ok: true; path: string; search: string } | { ok: false; message: string };
export type NormalizedSegment = { ok: true; value: string } | { ok: false; message: string };

/** Node's default header limit is 16 KiB; a longer request line is not a request we need to serve. */
export const MAX_URL_LENGTH = 8192;

/** RFC 3986 pchar characters that may appear raw in a segment; `;` is left out on purpose. */
const RAW_SEGMENT_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,=:@]$/;
const PLAIN_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,=:@]+$/;
const HEX2 = /^[0-9A-Fa-f]{2}$/;
/** Printable ASCII except `#`: the query is forwarded as received, so it must be unambiguous too. */
const QUERY = /^[!"$-~]*$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function normalizePath(url: string): NormalizedUrl {
  if (typeof url !== 'string' || url.length === 0) return { ok: false, message: 'the request has no path' };
  if (url.length > MAX_URL_LENGTH)
    return { ok: false, message: `the request target is longer than ${MAX_URL_LENGTH}` };
  if (!url.startsWith('/'))
    return { ok: false, message: "the request target must be a path starting with '/'" };
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const search = q < 0 ? '' : url.slice(q);
  if (!QUERY.test(search)) {
    const bad = [...search].find((c) => c < '!' || c > '~' || c === '#') as string;
    return { ok: false, message: `the query string contains ${describeChar(bad)}` };
  }
  const segments: string[] = [];
  for (const raw of rawPath.split('/')) {
    if (raw === '') continue;
    const segment = normalizeSegment(raw, 'request');
    if (!segment.ok) return segment;
    segments.push(segment.value);
  }
  const trailingSlash = segments.length > 0 && rawPath.endsWith('/');
  return { ok: true, path: `/${segments.join('/')}${trailingSlash ? '/' : ''}`, search };
}

/** The segments permissions are matched against: `/a/b/` and `/a/b` both give `['a', 'b']`. */
export function pathSegments(normalizedPath: string): string[] {
  return normalizedPath.split('/').filter((s) => s !== '');
}

/**
 * One segment in its single canonical spelling. Permission patterns go through the same function
 * (`pattern` mode percent-encodes characters a request would have to encode, such as non-ASCII), so
 * a literal in a pattern and in a request compare equal exactly when the upstream sees the same bytes.
 */
export function normalizeSegment(raw: string, mode: 'request' | 'pattern'): NormalizedSegment {
  // The common case, plain characters only, is already canonical.
  if (PLAIN_SEGMENT.test(raw) && raw !== '.' && raw !== '..') return { ok: true, value: raw };
  let out = '';
  const bytes: number[] = [];
  for (let i = 0; i < raw.length;) {
    const c = raw[i] as string;
    if (c === '%') {
      const hex = raw.slice(i + 1, i + 3);
      if (!HEX2.test(hex)) return { ok: false, message: 'the path contains a malformed percent-encoding' };
      const byte = parseInt(hex, 16);
      const refused = refusedEncodedByte(byte);
      if (refused !== undefined) return { ok: false, message: `the path contains ${refused}` };
      const char = String.fromCharCode(byte);
      out += byte < 0x80 && RAW_SEGMENT_CHAR.test(char) ? char : `%${hex.toUpperCase()}`;
      bytes.push(byte);
      i += 3;
      continue;
    }
    const codePoint = raw.codePointAt(i) as number;
    const char = String.fromCodePoint(codePoint);
    i += char.length;
    if (RAW_SEGMENT_CHAR.test(char)) {
      out += char;
      bytes.push(codePoint);
    } else if (mode === 'pattern' && !alwaysRefused(char)) {
      for (const byte of new TextEncoder().encode(char)) {
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
        bytes.push(byte);
      }
    } else {
      return { ok: false, message: `the path contains ${describeChar(char)}` };
    }
  }
  try {
    utf8.decode(Uint8Array.from(bytes));
  } catch {
    return { ok: false, message: 'the path contains a percent-encoding that is not valid UTF-8' };
  }
  if (out === '.' || out === '..') return { ok: false, message: "the path contains a '.' or '..' segment" };
  return { ok: true, value: out };
}

function refusedEncodedByte(byte: number): string | undefined {
  if (byte === 0x2f) return 'an encoded slash (%2F)';
  if (byte === 0x5c) return 'an encoded backslash (%5C)';
  if (byte === 0x3b) return 'an encoded semicolon (%3B)';
  if (byte === 0x25) return 'an encoded percent sign (%25), a double encoding';
  if (byte < 0x20 || byte === 0x7f) return 'an encoded control character';
  return undefined;
}

/** Characters with a path meaning in some upstream, which even a pattern cannot spell. */
function alwaysRefused(char: string): boolean {
  return char === '\\' || char === ';' || char === '#' || char === '?' || char === '/' || isControl(char);
}

function isControl(char: string): boolean {
  const code = char.codePointAt(0) as number;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

function describeChar(char: string): string {
  if (char === '\\') return 'a backslash';
  if (char === ';') return "a ';' (path parameters are not supported)";
  if (char === '#') return "a '#'";
  if (isControl(char)) return 'a control character';
  if (char === ' ') return 'a space';
  if ((char.codePointAt(0) as number) > 0x7e) return 'a non-ASCII character (percent-encode it)';
  return `a '${char}' (percent-encode it)`;
}
