import { describe, expect, it } from 'vitest';
import { parseRefreshRequest } from '../../../operator/src/http/server.js';
import { statusChanged, statusPatch } from '../../../operator/src/kube/status.js';

describe('parseRefreshRequest', () => {
  it.each([
    [
      { namespace: 'team-a', server: 'okta', kid: 'k1' },
      { namespace: 'team-a', server: 'okta', kid: 'k1' },
    ],
    [
      { namespace: 'team-a', server: 'okta' },
      { namespace: 'team-a', server: 'okta' },
    ],
    [{ namespace: 'Team A', server: 'okta' }, { error: 'namespace must be a namespace name' }],
    [{ namespace: 'a', server: '../x' }, { error: 'server must be an AuthorizationServer name' }],
    [{ namespace: 'a', server: 'b', kid: 5 }, { error: 'kid must be a string of at most 256 characters' }],
    [null, { error: 'the body must be a JSON object' }],
  ])('%j', (body, expected) => expect(parseRefreshRequest(body)).toEqual(expected));
});

describe('status patches', () => {
  it('nulls fields that disappeared so a merge patch removes them', () => {
    expect(statusPatch({ keyIds: ['a'], keyCount: 1, conditions: [] }, { conditions: [] })).toEqual({
      conditions: [],
      keyIds: null,
      keyCount: null,
    });
  });

  it('sees no change when only key order differs', () => {
    expect(statusChanged({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toBe(false);
    expect(statusChanged(undefined, {})).toBe(false);
    expect(statusChanged({ a: 1 }, { a: 2 })).toBe(true);
  });
});
