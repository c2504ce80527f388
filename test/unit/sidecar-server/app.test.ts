import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../sidecar/src/app.js';
import { MemoryAuditSink } from '../../../sidecar/src/audit/audit-log.js';
import { config, rsaKey, runtime, TENANT, token, type TestKey } from './fixtures.js';

// Denials never reach the upstream, so these tests need no network: the upstream port is closed.
const UPSTREAM = { url: 'http://127.0.0.1:9', timeoutMs: 1000, connections: 1 };

let key: TestKey;
beforeAll(async () => {
  key = await rsaKey('k1');
});

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function setup(withConfig = true) {
  const rt = runtime();
  const audit = new MemoryAuditSink();
  if (withConfig) await rt.store.apply(config([key.jwk]), { source: 'push', requireNewer: true });
  app = await buildApp({ ...rt, audit, clock: () => new Date(), upstream: UPSTREAM });
  return { ...rt, audit, app };
}

const reader = () => token(key, [`${TENANT.cloudName}::${TENANT.orgId}::reader`]);

describe('buildApp denials', () => {
  it('answers 503 config_missing before any config, as JSON, and audits it', async () => {
    const { app, audit, metrics } = await setup(false);
    const res = await app.inject({
      method: 'GET',
      url: '/orders/1',
      headers: { authorization: `Bearer ${await reader()}` },
    });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ code: 'config_missing', message: expect.any(String) });
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    expect(audit.records).toHaveLength(1);
    expect(audit.records[0]).toMatchObject({
      decision: 'deny',
      reason: 'config_missing',
      status: 503,
      configRevision: 0,
    });
    expect(await metrics.registry.getSingleMetricAsString('scopegate_sidecar_requests_total')).toContain(
      'scopegate_sidecar_requests_total{decision="deny",reason="config_missing"} 1',
    );
  });

  it('answers 401 with a bare Bearer challenge without a token', async () => {
    const { app } = await setup();
    const res = await app.inject({ method: 'GET', url: '/orders/1' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.json().code).toBe('token_missing');
  });

  it('answers 403 insufficient_scope when no permission grants the method', async () => {
    const { app, audit } = await setup();
    const tok = await reader();
    const res = await app.inject({
      method: 'DELETE',
      url: '/orders/1?x=1',
      headers: { authorization: `Bearer ${tok}` },
    });
    expect(res.statusCode).toBe(403);
    expect(res.headers['www-authenticate']).toMatch(
      /^Bearer error="insufficient_scope", error_description="/,
    );
    expect(res.json().code).toBe('permission_denied');
    const record = audit.records[0];
    expect(record).toMatchObject({
      decision: 'deny',
      reason: 'permission_denied',
      method: 'DELETE',
      path: '/orders/1',
      roles: ['reader'],
      clientId: 'client-a',
      issuer: 'https://idp.test',
      server: 'shop/idp',
      configRevision: 1,
    });
    expect(JSON.stringify(record)).not.toContain(tok.split('.')[2]);
  });

  it('refuses spoofed identity headers and method overrides with 400 request_invalid', async () => {
    const { app } = await setup();
    const authorization = `Bearer ${await reader()}`;
    for (const extra of [{ 'x-scopegate-roles': 'admin' }, { 'x-http-method-override': 'DELETE' }]) {
      const res = await app.inject({ method: 'GET', url: '/orders/1', headers: { authorization, ...extra } });
      expect(res.statusCode).toBe(400);
      expect(res.json().code).toBe('request_invalid');
    }
  });

  it('refuses a path with a path parameter, with the reason in the message', async () => {
    // inject() resolves dot segments itself; the raw-path cases live in the integration tests.
    const { app } = await setup();
    const res = await app.inject({
      method: 'GET',
      url: '/orders/1;jsessionid=x',
      headers: { authorization: `Bearer ${await reader()}` },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'request_invalid', message: expect.stringContaining(';') });
  });

  it('answers 502 upstream_unavailable when an allowed request cannot reach the app', async () => {
    const { app, audit, metrics } = await setup();
    const res = await app.inject({
      method: 'GET',
      url: '/orders/1',
      headers: { authorization: `Bearer ${await reader()}` },
    });
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe('upstream_unavailable');
    expect(audit.records[0]).toMatchObject({
      decision: 'allow',
      reason: 'allowed',
      status: 502,
      upstreamError: 'upstream_unavailable',
      adminId: 'oauth-reader$@42.zs.net',
      permission: 'reader-perm',
    });
    expect(
      await metrics.registry.getSingleMetricAsString('scopegate_sidecar_upstream_errors_total'),
    ).toContain('kind="refused"} 1');
  });

  it('counts token cache hits after the first verification', async () => {
    const { app, metrics } = await setup();
    const authorization = `Bearer ${await reader()}`;
    for (let i = 0; i < 3; i++)
      await app.inject({ method: 'DELETE', url: '/orders/1', headers: { authorization } });
    expect(
      await metrics.registry.getSingleMetricAsString('scopegate_sidecar_token_cache_hits_total'),
    ).toContain(' 2');
    expect(
      await metrics.registry.getSingleMetricAsString('scopegate_sidecar_token_cache_misses_total'),
    ).toContain(' 1');
  });
});
