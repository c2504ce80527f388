import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  normalizePath,
  normalizeSegment,
  pathSegments,
} from '../../../../sidecar/src/policy/normalize-path.js';

describe('normalizePath', () => {
  const accepted: [string, string, string][] = [
    ['/', '/', ''],
    ['/v1/items', '/v1/items', ''],
    ['/v1/items/', '/v1/items/', ''],
    ['/v1/items?limit=10&x=%2F', '/v1/items', '?limit=10&x=%2F'],
    ['/v1/items?', '/v1/items', '?'],
    ['//v1///items//', '/v1/items/', ''],
    ['//', '/', ''],
    ['/v1/%61%62c', '/v1/abc', ''],
    ['/v1/%7e%2d%5F%2E', '/v1/~-_.', ''],
    ['/v1/a%20b', '/v1/a%20b', ''],
    ['/v1/a%3fb', '/v1/a%3Fb', ''],
    ['/v1/caf%c3%a9', '/v1/caf%C3%A9', ''],
    ['/v1/a%40b%3A%2B', '/v1/a@b:+', ''],
    ["/v1/!$&'()*+,=:@", "/v1/!$&'()*+,=:@", ''],
    ['/v1/a..b/...', '/v1/a..b/...', ''],
    ['/V1/Items', '/V1/Items', ''],
  ];
  it.each(accepted)('%s → %s %s', (url, path, search) => {
    expect(normalizePath(url)).toEqual({ ok: true, path, search });
  });

  const refused: [string, RegExp][] = [
    ['', /no path/],
    ['v1/items', /starting with/],
    ['*', /starting with/],
    ['http://example.com/v1', /starting with/],
    ['/v1/../admin', /'\.' or '\.\.'/],
    ['/v1/./admin', /'\.' or '\.\.'/],
    ['/..', /'\.' or '\.\.'/],
    ['/v1/%2e%2E', /'\.' or '\.\.'/],
    ['/v1/%2e', /'\.' or '\.\.'/],
    ['/v1/a%2fb', /encoded slash/],
    ['/v1/a%5cb', /encoded backslash/],
    ['/v1/a%3bb', /encoded semicolon/],
    ['/v1/a%252fb', /double encoding/],
    ['/v1/a%00', /control/],
    ['/v1/a%0d%0a', /control/],
    ['/v1/a%7F', /control/],
    ['/v1/a%', /malformed percent/],
    ['/v1/a%4', /malformed percent/],
    ['/v1/a%zz', /malformed percent/],
    ['/v1/%C0%AE', /UTF-8/],
    ['/v1/%C3', /UTF-8/],
    ['/v1/%ED%A0%80', /UTF-8/],
    ['/v1\\admin', /backslash/],
    ['/v1/a;b', /path parameters/],
    ['/v1/a#b', /'#'/],
    ['/v1/a b', /space/],
    ['/v1/a\tb', /control/],
    ['/v1/café', /non-ASCII/],
    ['/v1/a"b', /percent-encode/],
    ['/v1/a|b', /percent-encode/],
    ['/v1?a b', /query string/],
    ['/v1?a#b', /query string/],
    ['/v1?\u0000', /query string/],
    ['/' + 'a'.repeat(9000), /longer than/],
  ];
  it.each(refused)('%j is refused (%s)', (url, why) => {
    const result = normalizePath(url);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.message).toMatch(why);
  });

  it('gives the segments matching uses, ignoring a trailing slash', () => {
    expect(pathSegments('/')).toEqual([]);
    expect(pathSegments('/a/b')).toEqual(['a', 'b']);
    expect(pathSegments('/a/b/')).toEqual(['a', 'b']);
  });

  it('spells pattern literals the way requests are normalised', () => {
    expect(normalizeSegment('café', 'pattern')).toEqual({ ok: true, value: 'caf%C3%A9' });
    expect(normalizeSegment('a|b', 'pattern')).toEqual({ ok: true, value: 'a%7Cb' });
    expect(normalizeSegment('%61', 'pattern')).toEqual({ ok: true, value: 'a' });
    expect(normalizeSegment('a;b', 'pattern').ok).toBe(false);
    expect(normalizeSegment('a\\b', 'pattern').ok).toBe(false);
  });
});

/** Characters a hostile client might put in a path, weighted towards the tricky ones. */
const pathChar = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'Z', '0', '-', '_', '~', '.', '/', '/', '/') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '%2e',
      '%2E',
      '%2f',
      '%2F',
      '%5c',
      '%25',
      '%00',
      '%61',
      '%41',
      '%20',
      '%C3%A9',
      '%C0%AE',
      '%',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('\\', ';', '#', ' ', '?', ':', '@', '!', '*', '+', '=', '"', 'é', '\u0000'),
  },
);
const hostilePath = fc.array(pathChar, { maxLength: 24 }).map((chars) => `/${chars.join('')}`);

describe('normalizePath properties', () => {
  it('is idempotent: a normalised path normalises to itself', () => {
    fc.assert(
      fc.property(hostilePath, (url) => {
        const first = normalizePath(url);
        if (!first.ok) return;
        expect(normalizePath(first.path + first.search)).toEqual(first);
      }),
      { numRuns: 2000 },
    );
  });

  it('never yields a dot segment, an empty segment, a backslash, a semicolon or an encoded slash', () => {
    fc.assert(
      fc.property(hostilePath, (url) => {
        const result = normalizePath(url);
        if (!result.ok) return;
        const segments = result.path.split('/').slice(1);
        const inner = result.path.endsWith('/') ? segments.slice(0, -1) : segments;
        expect(inner.every((s) => s !== '' && s !== '.' && s !== '..')).toBe(true);
        expect(result.path).not.toMatch(/\\|;|%2F|%5C|%25|%2E/i);
        expect([...result.path].every((c) => c >= ' ' && c !== '\u007f')).toBe(true);
        expect(result.path.startsWith('/')).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes to the same bytes the upstream would see from the original', () => {
    fc.assert(
      fc.property(hostilePath, (url) => {
        const result = normalizePath(url);
        if (!result.ok) return;
        const collapse = (p: string) => p.replace(/\/+/g, '/');
        expect(decodeURIComponent(result.path)).toBe(
          collapse(decodeURIComponent(url.split('?')[0] as string)),
        );
      }),
      { numRuns: 2000 },
    );
  });
});
