/**
 * Property: whatever path a reader sends, an allowed request was authorized on a normalised path
 * without dot segments, and never reaches the `None`-protected /v1/admin subtree as the app decodes it.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { decide, type CompiledConfig } from '../../../../sidecar/src/pipeline/decide.js';
import { TokenCache } from '../../../../sidecar/src/pipeline/token-cache.js';
import { authorizationServer, compiledFor, makeKey, mint, NOW, request, scope } from '../builders.js';

let compiled: CompiledConfig;
let token: string;
const cache = new TokenCache({ maxEntries: 4 });

beforeAll(async () => {
  const key = await makeKey('k1');
  compiled = await compiledFor([{ resource: authorizationServer('idp'), keys: [key.jwk] }]);
  token = await mint(key, { scope: scope('reader') });
});

const piece = fc.constantFrom(
  'v1',
  'admin',
  'items',
  '..',
  '.',
  '%2e',
  '%2E%2e',
  '%61dmin',
  'adm%69n',
  'ADMIN',
  '',
  '%2f',
  '%5c',
  ';x',
  '%3b',
  '%00',
  '%252e',
  '\\',
  'admin;',
  'admin%20',
  '~',
  '%7E',
  'a%2Fb',
);
const hostilePath = fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => `/${parts.join('/')}`);

describe('decide on hostile paths', () => {
  it('never allows a path the app would read as /v1/admin/**, nor one with dot segments', async () => {
    await fc.assert(
      fc.asyncProperty(hostilePath, fc.constantFrom('GET', 'HEAD', 'OPTIONS'), async (url, method) => {
        const decision = await decide(compiled, request(token, method, url), NOW, cache);
        if (!decision.allow) return;
        const segments = decodeURIComponent(decision.path).split('/').filter(Boolean);
        expect(segments).not.toContain('..');
        expect(segments).not.toContain('.');
        expect(segments.slice(0, 2)).not.toEqual(['v1', 'admin']);
        expect(segments[0]).toBe('v1');
      }),
      { numRuns: 1500 },
    );
  });
});
