import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookMetrics } from '../../../operator/src/webhook/metrics.js';
import { buildWebhookApp } from '../../../operator/src/webhook/server.js';
import { admissionReview, pod, SETTINGS } from './fixtures.js';

function setup(ready = true) {
  const registry = new Registry();
  const app = buildWebhookApp({
    logger: pino({ level: 'silent' }),
    metrics: createWebhookMetrics(registry),
    settings: SETTINGS,
    isReady: () => ready,
  });
  return { app, registry };
}

const counter = async (registry: Registry, result: string) => {
  const metric = await registry.getSingleMetric('scopegate_operator_webhook_requests_total')?.get();
  return metric?.values.find((v) => v.labels['result'] === result)?.value;
};

describe('webhook app', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('POST /mutate-pods answers an AdmissionReview with a patch and counts it', async () => {
    const { app, registry } = setup();
    close = () => app.close();
    const response = await app.inject({
      method: 'POST',
      url: '/mutate-pods',
      payload: admissionReview(pod()),
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true, patchType: 'JSONPatch' },
    });
    expect(body.request).toBeUndefined();
    expect(await counter(registry, 'injected')).toBe(1);
  });

  it('denies bad annotations in the review (HTTP 200, allowed false)', async () => {
    const { app, registry } = setup();
    close = () => app.close();
    const review = admissionReview(pod({ annotations: { 'scopegate.io/upstream-port': 'eighty' } }));
    const response = await app.inject({ method: 'POST', url: '/mutate-pods', payload: review });
    expect(response.statusCode).toBe(200);
    expect(response.json().response).toMatchObject({ allowed: false, status: { code: 400 } });
    expect(await counter(registry, 'rejected')).toBe(1);
  });

  it('answers a malformed review with 400 and a code', async () => {
    const { app, registry } = setup();
    close = () => app.close();
    const response = await app.inject({ method: 'POST', url: '/mutate-pods', payload: { kind: 'Pod' } });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'ERR_WEBHOOK_MALFORMED_REVIEW' });
    expect(await counter(registry, 'error')).toBe(1);
  });

  it('readyz reflects whether a certificate is loaded; healthz is always up', async () => {
    const notReady = setup(false).app;
    close = () => notReady.close();
    expect((await notReady.inject({ url: '/readyz' })).statusCode).toBe(503);
    expect((await notReady.inject({ url: '/healthz' })).statusCode).toBe(200);
    const ready = setup(true).app;
    expect((await ready.inject({ url: '/readyz' })).statusCode).toBe(200);
    await ready.close();
  });

  it('pre-creates every result series at zero', async () => {
    const { registry } = setup();
    const text = await registry.metrics();
    for (const result of ['injected', 'unchanged', 'skipped', 'rejected', 'error']) {
      expect(text).toContain(`scopegate_operator_webhook_requests_total{result="${result}"} 0`);
    }
  });
});
