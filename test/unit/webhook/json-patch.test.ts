import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createJsonPatch, deepEqual, escapePointerToken } from '../../../operator/src/webhook/json-patch.js';
import { applyJsonPatch } from './fixtures.js';

describe('createJsonPatch', () => {
  it('is empty for equal documents', () => {
    expect(createJsonPatch({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
  });

  it('adds, replaces and removes object keys, escaping / and ~', () => {
    expect(createJsonPatch({ 'a/b': 1, 'c~d': 2, e: 3 }, { 'a/b': 1, 'c~d': 5, f: 4 })).toEqual([
      { op: 'remove', path: '/e' },
      { op: 'replace', path: '/c~0d', value: 5 },
      { op: 'add', path: '/f', value: 4 },
    ]);
    expect(escapePointerToken('scopegate.io/inject')).toBe('scopegate.io~1inject');
  });

  it('appends array items by index and removes a shorter tail from the end', () => {
    expect(createJsonPatch({ l: [1] }, { l: [1, 2, 3] })).toEqual([
      { op: 'add', path: '/l/1', value: 2 },
      { op: 'add', path: '/l/2', value: 3 },
    ]);
    expect(createJsonPatch({ l: [1, 2, 3] }, { l: [1] })).toEqual([
      { op: 'remove', path: '/l/2' },
      { op: 'remove', path: '/l/1' },
    ]);
  });

  it('replaces a value whose type changes', () => {
    expect(createJsonPatch({ a: [1] }, { a: { 0: 1 } })).toEqual([
      { op: 'replace', path: '/a', value: { 0: 1 } },
    ]);
  });

  it('treats undefined properties as absent', () => {
    expect(createJsonPatch({ a: 1, b: undefined }, { a: 1 })).toEqual([]);
    expect(deepEqual({ a: undefined }, {})).toBe(true);
  });

  it('applying the patch to the source always yields the target', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    const object = fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 5 });
    fc.assert(
      fc.property(object, object, (before, after) => {
        expect(applyJsonPatch(before, createJsonPatch(before, after))).toEqual(after);
      }),
      { numRuns: 300 },
    );
  });
});
