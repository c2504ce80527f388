import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatScope, parseScope, scopeValues } from '../../../../sidecar/src/auth/scope.js';

const partChars = [...'abcxyzABCXYZ0189_.-'];
const part = fc
  .array(fc.constantFrom(...partChars), { minLength: 1, maxLength: 12 })
  .map((cs) => cs.join(''));
const validScope = fc.record({ cloudName: part, orgId: part, roleName: part });

describe('parseScope', () => {
  it.each([
    [
      'zscalerbeta.net::272378::sampleRole',
      { cloudName: 'zscalerbeta.net', orgId: '272378', roleName: 'sampleRole' },
    ],
    ['demo::1234567::reader', { cloudName: 'demo', orgId: '1234567', roleName: 'reader' }],
    ['a::b::c', { cloudName: 'a', orgId: 'b', roleName: 'c' }],
  ])('parses %s', (value, parts) => {
    expect(parseScope(value)).toEqual(parts);
  });

  it.each([
    '',
    'reader',
    'demo::reader',
    '::1234567::reader',
    'demo::::reader',
    'demo::1234567::',
    'demo::1234567::reader::extra',
    'demo:::1234567::reader',
    'demo::1234567:::reader',
    'demo:1234567::reader',
    ' demo::1234567::reader',
    'demo::1234567::reader ',
    'demo::1234567::rea der',
    'demo::1234567::reader\n',
    'demo::1234567::reader\u00a0',
    'demo::1234567::reader$',
    'demo::1234567::reader@x',
    'demo::1234567::réader',
    'demo::1234567::reader/..',
    `demo::1::${'a'.repeat(1030)}`,
  ])('refuses %j', (value) => {
    expect(parseScope(value)).toBeUndefined();
  });

  it.each([undefined, null, 42, ['demo::1::a'], { cloudName: 'demo' }])(
    'refuses the non-string %j',
    (value) => {
      expect(parseScope(value)).toBeUndefined();
    },
  );
});

describe('parseScope properties', () => {
  it('round-trips every valid scope', () => {
    fc.assert(
      fc.property(validScope, (parts) => {
        expect(parseScope(formatScope(parts))).toEqual(parts);
      }),
    );
  });

  it('a mutated scope never parses to the original parts', () => {
    const mutation = fc.constantFrom(
      (s: string) => s.toUpperCase(),
      (s: string) => s.toLowerCase(),
      (s: string) => s.replace('::', ':::'),
      (s: string) => s.replace('::', ':'),
      (s: string) => `${s}::x`,
      (s: string) => `x::${s}`,
      (s: string) => `${s} `,
      (s: string) => ` ${s}`,
      (s: string) => s.replace('::', ' :: '),
      (s: string) => `${s}\t`,
      (s: string) => `${s}x`,
      (s: string) => `x${s}`,
      (s: string) => s.slice(0, -1),
    );
    fc.assert(
      fc.property(validScope, mutation, (parts, mutate) => {
        const original = formatScope(parts);
        const mutated = mutate(original);
        fc.pre(mutated !== original);
        const parsed = parseScope(mutated);
        expect(parsed === undefined || formatScope(parsed) !== original).toBe(true);
        if (parsed !== undefined) expect(formatScope(parsed)).toBe(mutated);
      }),
      { numRuns: 3000 },
    );
  });

  it('inserting any character outside the allowed set makes it unparseable', () => {
    const bad = fc.constantFrom(
      ' ',
      '\t',
      '\n',
      ':',
      '$',
      '@',
      '/',
      '\\',
      '*',
      'é',
      '\u0000',
      '\u200b',
      ',',
      '"',
    );
    fc.assert(
      fc.property(validScope, bad, fc.nat(), (parts, char, at) => {
        const scope = formatScope(parts);
        const i = at % (scope.length + 1);
        const mutated = scope.slice(0, i) + char + scope.slice(i);
        const parsed = parseScope(mutated);
        // One extra ':' next to '::' can only yield a different split, never the original parts.
        if (parsed !== undefined) expect(char).toBe(':');
        if (parsed !== undefined) expect(parsed).not.toEqual(parts);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('scopeValues', () => {
  it('takes the first claim present, as an array or a space-separated string', () => {
    expect(scopeValues({ scp: ['a', 'b'], scope: 'c' }, ['scp', 'scope'])).toEqual({
      claim: 'scp',
      values: ['a', 'b'],
    });
    expect(scopeValues({ scope: 'c  d ' }, ['scp', 'scope'])).toEqual({ claim: 'scope', values: ['c', 'd'] });
    expect(scopeValues({ scp: null, scope: 'c' }, ['scp', 'scope'])).toEqual({
      claim: 'scope',
      values: ['c'],
    });
    expect(scopeValues({ roles: ['a', 1, null, 'b'] }, ['roles'])).toEqual({
      claim: 'roles',
      values: ['a', 'b'],
    });
    expect(scopeValues({ roles: 7 }, ['roles'])).toEqual({ claim: 'roles', values: [] });
    expect(scopeValues({}, ['scp'])).toBeUndefined();
    expect(scopeValues({}, ['constructor', 'toString', '__proto__'])).toBeUndefined();
  });
});
