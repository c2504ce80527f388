import { describe, expect, it } from 'vitest';
import { parseWebhookOptions } from '../../../operator/src/webhook/options.js';

const context = { operatorNamespace: 'scopegate-system', addr: { host: '0.0.0.0', port: 9443 } };
const minimal = {
  SCOPEGATE_SIDECAR_IMAGE: 'ghcr.io/scopegate/scopegate:0.1.0',
  SCOPEGATE_OPERATOR_URL: 'http://scopegate.scopegate-system.svc:8080',
};

describe('parseWebhookOptions', () => {
  it('fills defaults around the two required values', () => {
    const result = parseWebhookOptions(minimal, context);
    expect(result).toEqual({
      ok: true,
      options: {
        addr: context.addr,
        sidecar: {
          image: 'ghcr.io/scopegate/scopegate:0.1.0',
          imagePullPolicy: 'IfNotPresent',
          resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
          operatorUrl: 'http://scopegate.scopegate-system.svc:8080',
        },
        excludedNamespaces: ['kube-system', 'scopegate-system'],
        certificates: {
          mode: 'self-managed',
          secretName: 'scopegate-webhook-tls',
          webhookConfigurationName: 'scopegate',
          hosts: [
            'scopegate-webhook.scopegate-system.svc',
            'scopegate-webhook.scopegate-system',
            'scopegate-webhook',
          ],
          checkIntervalMs: 60_000,
        },
        unprotectedPods: { enabled: true, intervalMs: 60_000, repeatAfterMs: 3_600_000 },
      },
    });
  });

  it('reads the files mode, extra exclusions and hosts', () => {
    const result = parseWebhookOptions(
      {
        ...minimal,
        SCOPEGATE_WEBHOOK_CERTIFICATES: 'files',
        SCOPEGATE_WEBHOOK_CERT_DIR: '/tls',
        SCOPEGATE_WEBHOOK_EXCLUDED_NAMESPACES: 'monitoring, kube-system',
        SCOPEGATE_SIDECAR_RESOURCES: '{"limits":{"cpu":1,"memory":"128Mi"}}',
      },
      context,
    );
    expect(result.ok && result.options.certificates).toEqual({
      mode: 'files',
      directory: '/tls',
      reloadIntervalMs: 60_000,
    });
    expect(result.ok && result.options.excludedNamespaces).toEqual([
      'kube-system',
      'scopegate-system',
      'monitoring',
    ]);
    expect(result.ok && result.options.sidecar.resources).toEqual({ limits: { cpu: '1', memory: '128Mi' } });
  });

  it('reports every mistake at once', () => {
    const result = parseWebhookOptions(
      {
        SCOPEGATE_SIDECAR_IMAGE_PULL_POLICY: 'Sometimes',
        SCOPEGATE_SIDECAR_RESOURCES: '{"requests":{"cpu":"lots"},"extra":{}}',
        SCOPEGATE_WEBHOOK_CERTIFICATES: 'magic',
        SCOPEGATE_WEBHOOK_CERT_CHECK_INTERVAL: 'soon',
        SCOPEGATE_WEBHOOK_EXCLUDED_NAMESPACES: 'Bad_NS',
        SCOPEGATE_UNPROTECTED_PODS_CHECK: 'maybe',
      },
      context,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual([
      'SCOPEGATE_SIDECAR_IMAGE is required: Image of the injected sidecar (required with --webhook)',
      "SCOPEGATE_SIDECAR_IMAGE_PULL_POLICY 'Sometimes' must be one of Always, IfNotPresent, Never",
      "SCOPEGATE_SIDECAR_RESOURCES: requests.cpu 'lots' is not a Kubernetes quantity like 100m or 128Mi",
      "SCOPEGATE_SIDECAR_RESOURCES: unknown key 'extra' (only requests and limits)",
      expect.stringContaining('SCOPEGATE_OPERATOR_URL is required'),
      "SCOPEGATE_WEBHOOK_EXCLUDED_NAMESPACES: 'Bad_NS' is not a namespace name",
      "SCOPEGATE_WEBHOOK_CERT_CHECK_INTERVAL 'soon' must be a duration of at least 1000ms, like 30s or 5m",
      "SCOPEGATE_WEBHOOK_CERTIFICATES 'magic' must be self-managed or files",
      "SCOPEGATE_UNPROTECTED_PODS_CHECK 'maybe' must be true or false",
    ]);
  });
});
