import { describe, expect, it } from 'vitest';
import {
  downstreamResponseHeaders,
  headerSafe,
  upstreamRequestHeaders,
} from '../../../sidecar/src/proxy/upstream-headers.js';

const identity = { clientId: 'client-1', roles: ['reader', 'writer'], adminId: 'oauth-reader$@42.zs' };

describe('upstreamRequestHeaders', () => {
  it('removes hop-by-hop headers, those listed in Connection, and strips Authorization by default', () => {
    const out = upstreamRequestHeaders(
      {
        host: 'app',
        authorization: 'Bearer t',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        trailer: 'x',
        upgrade: 'websocket',
        'proxy-authorization': 'Basic x',
        'x-secret-hop': '1',
        accept: 'application/json',
      },
      identity,
      { forwardAuthorization: false, requestId: 'r1' },
      'keep-alive, X-Secret-Hop',
    );
    expect(out).toEqual({
      host: 'app',
      accept: 'application/json',
      'x-scopegate-client-id': 'client-1',
      'x-scopegate-roles': 'reader,writer',
      'x-scopegate-admin-id': 'oauth-reader$@42.zs',
      'x-request-id': 'r1',
    });
  });

  it('forwards Authorization when configured', () => {
    const out = upstreamRequestHeaders({ authorization: 'Bearer t' }, identity, {
      forwardAuthorization: true,
      requestId: 'r',
    });
    expect(out.authorization).toBe('Bearer t');
  });

  it('overrides any identity header already present', () => {
    const out = upstreamRequestHeaders(
      { 'x-scopegate-roles': 'admin' },
      { roles: [] },
      { forwardAuthorization: false, requestId: 'r' },
    );
    expect(out['x-scopegate-roles']).toBe('');
    expect(out['x-scopegate-client-id']).toBeUndefined();
  });
});

describe('downstreamResponseHeaders', () => {
  it('drops hop-by-hop response headers', () => {
    expect(
      downstreamResponseHeaders({
        connection: 'close, x-a',
        'x-a': '1',
        'keep-alive': 'x',
        'content-type': 'text/plain',
      }),
    ).toEqual({ 'content-type': 'text/plain' });
  });
});

describe('headerSafe', () => {
  it('keeps printable ASCII and percent-encodes the rest', () => {
    expect(headerSafe('client-1 ok')).toBe('client-1 ok');
    expect(headerSafe('a\r\nx-evil: 1')).toBe('a%0D%0Ax-evil: 1');
    expect(headerSafe('é%')).toBe('%C3%A9%25');
    expect(headerSafe('\ud800')).toBe('%EF%BF%BD');
  });
});
