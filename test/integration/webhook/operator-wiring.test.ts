/**
 * The webhook as the operator's main starts it: options from the same flags and SCOPEGATE_*
 * variables the chart sets, the operator's signing key handed to the sidecar, /readyz waiting for a
 * serving certificate, and the caBundle patched by the (only, so leading) replica.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startOperator, type RunningOperator } from '../../../operator/src/main.js';
import { parseOperatorOptions } from '../../../operator/src/options.js';
import { kubectl } from '../../support/control-plane.js';
import { find, REPO, renderChart, TENANT } from '../../unit/chart/helm.js';

const RUN = randomBytes(3).toString('hex');
const SYSTEM_NS = `sg-wire-system-${RUN}`;
const APP_NS = `sg-wire-apps-${RUN}`;
const CONFIGURATION = `sg-wire-${RUN}`;
const kubeconfig = () => inject('kubeconfigPath') || (process.env.SCOPEGATE_TEST_KUBECONFIG as string);
const k = async (args: string[], input?: string) => {
  const result = await kubectl(args, { kubeconfig: kubeconfig(), ...(input === undefined ? {} : { input }) });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

let operator: RunningOperator | undefined;
let webhookPort: number;

beforeAll(async () => {
  await k(['apply', '--server-side', '--force-conflicts', '-f', path.join(REPO, 'crds')]);
  await k(['create', 'namespace', SYSTEM_NS]);
  await k(['create', 'namespace', APP_NS]);
  webhookPort = await freePort();
  const manifests = await renderChart(
    [...TENANT, '--set', `fullnameOverride=${CONFIGURATION}`],
    CONFIGURATION,
    SYSTEM_NS,
  );
  const configuration = find(manifests, 'MutatingWebhookConfiguration') as unknown as {
    webhooks: { clientConfig: unknown; namespaceSelector: { matchExpressions: unknown[] } }[];
  };
  for (const hook of configuration.webhooks) {
    hook.clientConfig = { url: `https://127.0.0.1:${webhookPort}/mutate-pods` };
    hook.namespaceSelector.matchExpressions.push({
      key: 'kubernetes.io/metadata.name',
      operator: 'In',
      values: [APP_NS],
    });
  }
  await k(['create', '-f', '-'], JSON.stringify(configuration));

  const parsed = parseOperatorOptions(
    [
      '--kubeconfig',
      kubeconfig(),
      '--namespaces',
      APP_NS,
      '--http-addr',
      '127.0.0.1:0',
      '--leader-elect',
      'false',
    ],
    {
      SCOPEGATE_CLOUD: 'acme',
      SCOPEGATE_ORG_ID: '1234567',
      POD_NAMESPACE: SYSTEM_NS,
      POD_NAME: `operator-${RUN}`,
      SCOPEGATE_LOG_LEVEL: 'warn',
      SCOPEGATE_WEBHOOK: 'true',
      SCOPEGATE_WEBHOOK_ADDR: `127.0.0.1:${webhookPort}`,
      SCOPEGATE_SIDECAR_IMAGE: 'ghcr.io/scopegate/scopegate:dev',
      SCOPEGATE_OPERATOR_URL: `http://${CONFIGURATION}.${SYSTEM_NS}.svc:8080`,
      SCOPEGATE_WEBHOOK_CONFIGURATION: CONFIGURATION,
      SCOPEGATE_WEBHOOK_SECRET: `${CONFIGURATION}-webhook-tls`,
      SCOPEGATE_WEBHOOK_EXTRA_HOSTS: '127.0.0.1',
    },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed));
  operator = await startOperator(parsed.options, {
    logger: pino({ level: process.env.SCOPEGATE_TEST_LOG ?? 'silent' }),
  });
});

afterAll(async () => {
  await kubectl(['delete', 'mutatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found'], {
    kubeconfig: kubeconfig(),
  });
  await operator?.stop();
  await kubectl(['delete', 'pods', '--all', '-n', APP_NS, '--grace-period=0'], { kubeconfig: kubeconfig() });
});

describe('the operator serving the injection webhook', () => {
  it('is ready once the webhook has a certificate the API server trusts', async () => {
    const url = `http://127.0.0.1:${operator?.httpAddress.port}/readyz`;
    for (let deadline = Date.now() + 30_000; ; await sleep(200)) {
      if ((await fetch(url).catch(() => undefined))?.status === 200) break;
      if (Date.now() > deadline) throw new Error('the operator never became ready');
    }
    const bundles = await k([
      'get',
      'mutatingwebhookconfiguration',
      CONFIGURATION,
      '-o',
      'jsonpath={.webhooks[*].clientConfig.caBundle}',
    ]);
    expect(bundles.split(' ').filter((b) => b !== '')).toHaveLength(2);
  });

  it("injects opted-in pods with the operator's config public key and version", async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'orders',
        namespace: APP_NS,
        labels: { 'scopegate.io/inject': 'true' },
        annotations: { 'scopegate.io/upstream-port': '8080' },
      },
      spec: { containers: [{ name: 'app', image: 'example/orders:1' }] },
    };
    const created = JSON.parse(await k(['create', '-f', '-', '-o', 'json'], JSON.stringify(pod))) as V1Pod;
    expect(created.spec?.containers.map((c) => c.name)).toEqual(['app', 'scopegate-sidecar']);
    const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string })
      .version;
    expect(created.metadata?.annotations).toMatchObject({
      'scopegate.io/injected': version,
      'scopegate.io/config-public-key': operator?.signingKey.publicKeyPem,
    });
    const metrics = await (await fetch(`http://127.0.0.1:${operator?.httpAddress.port}/metrics`)).text();
    expect(metrics).toContain('scopegate_operator_webhook_requests_total{result="injected"} 1');
    expect(metrics).toMatch(/scopegate_operator_webhook_certificate_expiry_timestamp_seconds [1-9]/);
  });
});
