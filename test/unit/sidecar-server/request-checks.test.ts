import { describe, expect, it } from 'vitest';
import {
  acceptableRequestId,
  authorizationOf,
  findHeaderProblem,
} from '../../../sidecar/src/proxy/request-checks.js';

describe('findHeaderProblem', () => {
  it('accepts ordinary headers', () => {
    expect(findHeaderProblem({ host: 'a', authorization: 'Bearer x', 'x-request-id': '1' })).toBeUndefined();
  });

  it.each(['x-scopegate-client-id', 'x-scopegate-roles', 'x-scopegate-admin-id', 'x-scopegate-anything'])(
    'refuses a client-sent %s',
    (name) => {
      expect(findHeaderProblem({ [name]: 'spoofed' })).toContain(name);
    },
  );

  it.each(['x-http-method-override', 'x-http-method', 'x-method-override'])(
    'refuses the method override %s',
    (name) => {
      expect(findHeaderProblem({ [name]: 'DELETE' })).toContain('method');
    },
  );
});

describe('authorizationOf', () => {
  it('passes a single header as a string and duplicates as an array', () => {
    expect(authorizationOf(['Host', 'x'])).toBeUndefined();
    expect(authorizationOf(['Authorization', 'Bearer a'])).toBe('Bearer a');
    expect(authorizationOf(['authorization', 'Bearer a', 'x', 'y', 'AUTHORIZATION', 'Bearer b'])).toEqual([
      'Bearer a',
      'Bearer b',
    ]);
  });
});

describe('acceptableRequestId', () => {
  it('keeps sane ids and drops the rest', () => {
    expect(acceptableRequestId('abc-123_4.5')).toBe('abc-123_4.5');
    expect(acceptableRequestId('has space')).toBeUndefined();
    expect(acceptableRequestId('x'.repeat(129))).toBeUndefined();
    expect(acceptableRequestId(['a', 'b'])).toBeUndefined();
    expect(acceptableRequestId(undefined)).toBeUndefined();
  });
});
