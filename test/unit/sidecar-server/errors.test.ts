import { describe, expect, it } from 'vitest';
import { denial, proxyError, quoteSafe } from '../../../sidecar/src/errors.js';
import { classifyUpstreamError } from '../../../sidecar/src/proxy/upstream-errors.js';

describe('denial', () => {
  it('gives a bare challenge when there is no token', () => {
    const d = denial('token_missing');
    expect(d.status).toBe(401);
    expect(d.challenge).toBe('Bearer');
    expect(d.body.code).toBe('token_missing');
  });

  it('gives invalid_token with a fixed description for 401s', () => {
    const d = denial('token_expired', 'exp was 1700000000, token eyJhbGciOi...');
    expect(d.status).toBe(401);
    expect(d.challenge).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
    expect(JSON.stringify(d)).not.toContain('eyJ');
  });

  it('gives insufficient_scope for 403s', () => {
    expect(denial('permission_denied').challenge).toMatch(/^Bearer error="insufficient_scope"/);
    expect(denial('permission_denied').status).toBe(403);
  });

  it('keeps the detail of request_invalid and has no challenge for 503', () => {
    expect(denial('request_invalid', 'the path contains a backslash').body.message).toBe(
      'the path contains a backslash',
    );
    expect(denial('config_missing').status).toBe(503);
    expect(denial('config_missing').challenge).toBeUndefined();
  });
});

describe('proxyError and quoteSafe', () => {
  it('maps the proxy codes', () => {
    expect(proxyError('upstream_unavailable').status).toBe(502);
    expect(proxyError('upstream_timeout').status).toBe(504);
  });
  it('removes quotes, backslashes and non-printables', () => {
    expect(quoteSafe('a"b\\c\nd')).toBe('abcd');
  });
});

describe('classifyUpstreamError', () => {
  const wrap = (code: string) =>
    Object.assign(new Error('x'), { cause: Object.assign(new Error('y'), { code }) });
  it.each([
    ['ECONNREFUSED', 'refused', 'upstream_unavailable'],
    ['ECONNRESET', 'reset', 'upstream_unavailable'],
    ['UND_ERR_SOCKET', 'reset', 'upstream_unavailable'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout', 'upstream_timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout', 'upstream_timeout'],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect_timeout', 'upstream_unavailable'],
    ['ENOTFOUND', 'dns', 'upstream_unavailable'],
    ['WHATEVER', 'other', 'upstream_unavailable'],
  ])('%s is %s', (code, kind, result) => {
    expect(classifyUpstreamError(wrap(code))).toEqual({ kind, code: result });
  });
});
