/**
 * The real kube-apiserver calling the injection webhook. The MutatingWebhookConfiguration is the one
 * the chart renders, with two changes only: the webhook is reached at https://127.0.0.1:<port> (no
 * Service without a cluster network), and its namespaceSelector is narrowed to this run's namespaces
 * so a failure here can never block another test's pods. The caBundle is patched in by the webhook's
 * own self-managed certificate code, as the operator's leader does in a cluster.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createKubeClient,
  isConflict,
  isNotFound,
  KubeApiError,
  MERGE_PATCH,
  type KubeClient,
} from '../../../operator/src/kube/client.js';
import { createEventRecorder } from '../../../operator/src/kube/events.js';
import { realTimers } from '../../../operator/src/kube/timers.js';
import {
  parseWebhookOptions,
  startAdmissionWebhook,
  type AdmissionWebhook,
} from '../../../operator/src/webhook/index.js';
import { UnprotectedPodsCheck } from '../../../operator/src/webhook/unprotected-pods-check.js';
import { kubectl } from '../../support/control-plane.js';
import { find, renderChart, TENANT, type Manifest } from '../../unit/chart/helm.js';

const RUN = randomBytes(3).toString('hex');
const SYSTEM_NS = `sg-wh-system-${RUN}`;
const LABELLED_NS = `sg-wh-labelled-${RUN}`;
const PLAIN_NS = `sg-wh-plain-${RUN}`;
const LATE_NS = `sg-wh-late-${RUN}`;
const RELEASE = `sg-wh-${RUN}`;
const CONFIGURATION = `${RELEASE}-scopegate`;
const SECRET = `${CONFIGURATION}-webhook-tls`;

const kubeconfig = () => inject('kubeconfigPath') || (process.env.SCOPEGATE_TEST_KUBECONFIG as string);
const PUBLIC_KEY_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

let kube: KubeClient;
let webhook: AdmissionWebhook;
let registry: Registry;
const leadershipListeners: ((leading: boolean) => void)[] = [];

interface WebhookConfiguration extends Manifest {
  webhooks: {
    name: string;
    clientConfig: { url?: string; service?: unknown; caBundle?: string };
    namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  }[];
}

async function ensureNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  try {
    await kube.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
    });
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
}

function podManifest(
  name: string,
  options: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    containers?: V1Container[];
  } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      labels: options.labels ?? { app: name, 'scopegate.io/inject': 'true' },
      annotations: options.annotations ?? { 'scopegate.io/upstream-port': '8080' },
    },
    spec: {
      containers: options.containers ?? [
        { name: 'app', image: 'example/orders:1.2.3', ports: [{ containerPort: 8080 }] },
      ],
    },
  };
}

function createPod(namespace: string, pod: V1Pod, query: Record<string, string> = {}): Promise<V1Pod> {
  return kube.request<V1Pod>('POST', `/api/v1/namespaces/${namespace}/pods`, { body: pod, query });
}

const containerNames = (pod: V1Pod) => pod.spec?.containers.map((c) => c.name);
const sidecarOf = (pod: V1Pod) => pod.spec?.containers.find((c) => c.name === 'scopegate-sidecar');

async function webhookRequests(result: string): Promise<number> {
  const metric = await registry.getSingleMetric('scopegate_operator_webhook_requests_total')?.get();
  return metric?.values.find((v) => v.labels['result'] === result)?.value ?? 0;
}

async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig());
  kube = await createKubeClient(kc);
  await ensureNamespace(SYSTEM_NS);
  await ensureNamespace(LABELLED_NS, { 'scopegate.io/inject': 'true' });
  await ensureNamespace(PLAIN_NS);
  await ensureNamespace(LATE_NS);

  const parsed = parseWebhookOptions(
    {
      SCOPEGATE_SIDECAR_IMAGE: 'ghcr.io/scopegate/scopegate:0.1.0',
      SCOPEGATE_OPERATOR_URL: `http://${CONFIGURATION}.${SYSTEM_NS}.svc:8080`,
      SCOPEGATE_WEBHOOK_SECRET: SECRET,
      SCOPEGATE_WEBHOOK_CONFIGURATION: CONFIGURATION,
      SCOPEGATE_WEBHOOK_SERVICE: `${CONFIGURATION}-webhook`,
      // The API server calls 127.0.0.1 here, so the certificate must name it.
      SCOPEGATE_WEBHOOK_EXTRA_HOSTS: '127.0.0.1',
      SCOPEGATE_UNPROTECTED_PODS_CHECK: 'false',
    },
    { operatorNamespace: SYSTEM_NS, addr: { host: '127.0.0.1', port: 0 } },
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  registry = new Registry();
  webhook = await startAdmissionWebhook(parsed.options, {
    kube,
    logger: pino({ level: process.env.SCOPEGATE_TEST_LOG ?? 'silent' }),
    registry,
    isLeader: () => true,
    onLeadership: (listener) => leadershipListeners.push(listener),
    configPublicKeyPem: PUBLIC_KEY_PEM,
    version: '0.1.0-test',
    instance: `it-${RUN}`,
    namespace: SYSTEM_NS,
  });

  // The chart's webhook configuration, reached over loopback and narrowed to this run's namespaces.
  const manifests = await renderChart(
    [...TENANT, '--set', `fullnameOverride=${CONFIGURATION}`],
    RELEASE,
    SYSTEM_NS,
  );
  const configuration = find(manifests, 'MutatingWebhookConfiguration') as WebhookConfiguration;
  for (const hook of configuration.webhooks) {
    hook.clientConfig = { url: `https://127.0.0.1:${webhook.port}/mutate-pods` };
    hook.namespaceSelector.matchExpressions.push({
      key: 'kubernetes.io/metadata.name',
      operator: 'In',
      values: [SYSTEM_NS, LABELLED_NS, PLAIN_NS, LATE_NS, 'kube-system'],
    });
  }
  await kube.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    body: configuration,
  });
  // What the operator does on gaining leadership: a certificate round, which now patches the caBundle.
  for (const listener of leadershipListeners) listener(true);
  await eventually('the caBundle in both webhooks', async () => {
    const live = await kube.request<WebhookConfiguration>(
      'GET',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${CONFIGURATION}`,
    );
    return live.webhooks.every((w) => (w.clientConfig.caBundle ?? '') !== '') && webhook.isReady()
      ? true
      : undefined;
  });
});

afterAll(async () => {
  // The configuration first: with failurePolicy Fail it must never outlive the server it points at.
  await kube
    ?.request(
      'DELETE',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${CONFIGURATION}`,
    )
    .catch((error: unknown) => {
      if (!isNotFound(error)) throw error;
    });
  await webhook?.stop();
  for (const ns of [LABELLED_NS, PLAIN_NS, LATE_NS, 'kube-system']) {
    await kube?.request('DELETE', `/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: `sg-run=${RUN}`, gracePeriodSeconds: 0 },
    });
  }
  kube?.close();
});

/** Every pod this file creates carries the run label, so cleanup finds them. */
function runPod(name: string, options: Parameters<typeof podManifest>[1] = {}): V1Pod {
  const pod = podManifest(name, options);
  pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, 'sg-run': RUN } };
  return pod;
}

describe('the API server calling the injection webhook', () => {
  it('stores the CA, serving certificate and CA bundle in the Secret and trusts the bundle', async () => {
    const secret = await kube.request<{ data: Record<string, string> }>(
      'GET',
      `/api/v1/namespaces/${SYSTEM_NS}/secrets/${SECRET}`,
    );
    expect(Object.keys(secret.data).sort()).toEqual([
      'ca-bundle.crt',
      'ca.crt',
      'ca.key',
      'tls.crt',
      'tls.key',
    ]);
    const live = await kube.request<WebhookConfiguration>(
      'GET',
      `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${CONFIGURATION}`,
    );
    for (const hook of live.webhooks) expect(hook.clientConfig.caBundle).toBe(secret.data['ca-bundle.crt']);
  });

  it('injects the sidecar into a pod labelled scopegate.io/inject=true', async () => {
    const created = await createPod(
      PLAIN_NS,
      runPod('orders', {
        annotations: { 'scopegate.io/upstream-port': '8080', 'scopegate.io/listen-port': '8443' },
      }),
    );
    expect(containerNames(created)).toEqual(['app', 'scopegate-sidecar']);
    const sidecar = sidecarOf(created);
    expect(sidecar?.image).toBe('ghcr.io/scopegate/scopegate:0.1.0');
    expect(sidecar?.args).toEqual([
      'sidecar',
      '--config-public-key',
      '/etc/scopegate/config-public-key.pem',
      '--config-dir',
      '/var/run/scopegate',
      '--upstream',
      'http://127.0.0.1:8080',
      '--listen',
      '0.0.0.0:8443',
      '--admin',
      '0.0.0.0:15901',
      '--operator-url',
      `http://${CONFIGURATION}.${SYSTEM_NS}.svc:8080`,
    ]);
    expect(sidecar?.ports?.map((p) => [p.name, p.containerPort])).toEqual([
      ['scopegate', 8443],
      ['scopegate-admin', 15901],
    ]);
    expect(sidecar?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(sidecar?.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 15901 });
    expect(sidecar?.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 15901 });
    expect(sidecar?.resources).toEqual({
      requests: { cpu: '50m', memory: '64Mi' },
      limits: { memory: '256Mi' },
    });
    expect(created.spec?.volumes?.map((v) => v.name)).toEqual([
      'scopegate-config',
      'scopegate-config-public-key',
    ]);
    expect(created.metadata?.annotations).toMatchObject({
      'scopegate.io/injected': '0.1.0-test',
      'scopegate.io/config-public-key': PUBLIC_KEY_PEM,
    });
    expect(created.metadata?.labels?.['scopegate.io/injected']).toBe('true');
  });

  it('injects pods of a namespace labelled scopegate.io/inject=true', async () => {
    const pod = runPod('catalog', { labels: { app: 'catalog' } });
    expect(containerNames(await createPod(LABELLED_NS, pod))).toEqual(['app', 'scopegate-sidecar']);
  });

  it('leaves a pod that opts out of its labelled namespace untouched', async () => {
    const pod = runPod('legacy', { labels: { app: 'legacy', 'scopegate.io/inject': 'false' } });
    expect(containerNames(await createPod(LABELLED_NS, pod))).toEqual(['app']);
  });

  it('leaves pods that did not opt in untouched, without calling the webhook', async () => {
    const before = await webhookRequests('skipped');
    const created = await createPod(PLAIN_NS, runPod('plain', { labels: { app: 'plain' }, annotations: {} }));
    expect(containerNames(created)).toEqual(['app']);
    expect(created.metadata?.annotations?.['scopegate.io/injected']).toBeUndefined();
    expect(await webhookRequests('skipped')).toBe(before);
  });

  it.each([
    ['kube-system', 'kube-system'],
    ["the operator's own namespace", SYSTEM_NS],
  ])('never touches %s, even for labelled pods', async (_name, namespace) => {
    const created = await createPod(namespace, runPod(`excluded-${RUN}`, { annotations: {} }));
    expect(containerNames(created)).toEqual(['app']);
    await kube.request('DELETE', `/api/v1/namespaces/${namespace}/pods/excluded-${RUN}`, {
      query: { gracePeriodSeconds: 0 },
    });
  });

  it('rejects a pod with bad annotations, saying what to fix', async () => {
    const pod = runPod('broken', {
      annotations: { 'scopegate.io/upstream-port': '8080', 'scopegate.io/listen-port': '8080' },
    });
    const error = await createPod(PLAIN_NS, pod).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).statusCode).toBe(400);
    expect((error as KubeApiError).message).toContain(
      `admission webhook "pods.webhook.scopegate.io" denied the request: scopegate cannot inject its sidecar into pod ${PLAIN_NS}/broken: the sidecar's listen port 8080 equals the app's port (scopegate.io/upstream-port)`,
    );
  });

  it('shows the same message to kubectl users', async () => {
    const pod = runPod('no-port', { annotations: {} });
    pod.metadata = { ...pod.metadata, namespace: PLAIN_NS };
    const result = await kubectl(['apply', '-f', '-'], {
      kubeconfig: kubeconfig(),
      input: JSON.stringify(pod),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('denied the request: scopegate cannot inject its sidecar into pod');
    expect(result.stderr).toContain(
      'set the annotation scopegate.io/upstream-port to the port your app listens on',
    );
  });

  it('is idempotent: a pod recreated from an injected spec is admitted unchanged', async () => {
    const original = await kube.request<V1Pod>('GET', `/api/v1/namespaces/${PLAIN_NS}/pods/orders`);
    const copy: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'orders-copy',
        labels: original.metadata?.labels,
        annotations: original.metadata?.annotations,
      },
      spec: original.spec,
    };
    const before = await webhookRequests('unchanged');
    const recreated = await createPod(PLAIN_NS, copy);
    expect(await webhookRequests('unchanged')).toBe(before + 1);
    expect(recreated.spec?.containers).toEqual(original.spec?.containers);
    expect(recreated.spec?.volumes).toEqual(original.spec?.volumes);
  });

  it('lets updates of an injected pod through unchanged', async () => {
    const updated = await kube.request<V1Pod>('PATCH', `/api/v1/namespaces/${PLAIN_NS}/pods/orders`, {
      body: { metadata: { labels: { tier: 'gold' } } },
      contentType: MERGE_PATCH,
    });
    expect(updated.metadata?.labels?.['tier']).toBe('gold');
    expect(containerNames(updated)).toEqual(['app', 'scopegate-sidecar']);
  });

  it('injects dry-run creates too (the webhook has no side effects)', async () => {
    const created = await createPod(PLAIN_NS, runPod('dry'), { dryRun: 'All' });
    expect(containerNames(created)).toEqual(['app', 'scopegate-sidecar']);
    await expect(kube.request('GET', `/api/v1/namespaces/${PLAIN_NS}/pods/dry`)).rejects.toSatisfy(
      isNotFound,
    );
  });
});

describe('opted-in pods running without the sidecar', () => {
  it('are reported with a Warning Event and the gauge', async () => {
    // Created before its namespace opts in: the webhook never saw it.
    await createPod(LATE_NS, runPod('early', { labels: { app: 'early' }, annotations: {} }));
    await kube.request('PATCH', `/api/v1/namespaces/${LATE_NS}`, {
      body: { metadata: { labels: { 'scopegate.io/inject': 'true' } } },
      contentType: MERGE_PATCH,
    });
    const gauge = new Gauge({ name: 'unprotected_pods_test', help: 'test', registers: [] });
    const check = new UnprotectedPodsCheck(
      { intervalMs: 60_000, repeatAfterMs: 3_600_000, excludedNamespaces: ['kube-system', SYSTEM_NS] },
      {
        kube,
        events: createEventRecorder(
          kube,
          { controller: 'scopegate.io/operator', instance: `it-${RUN}` },
          (e) => {
            throw e;
          },
        ),
        logger: pino({ level: 'silent' }),
        gauge,
        timers: realTimers,
        isLeader: () => true,
      },
    );
    const found = await check.check();
    expect(found.filter((p) => p.namespace === LATE_NS).map((p) => p.name)).toEqual(['early']);
    expect((await gauge.get()).values[0]?.value).toBeGreaterThanOrEqual(1);
    const event = await eventually('the SidecarMissing event', async () => {
      const list = await kube.request<{
        items: { reason: string; type: string; note: string; regarding: { name: string } }[];
      }>('GET', `/apis/events.k8s.io/v1/namespaces/${LATE_NS}/events`);
      return list.items.find((e) => e.reason === 'SidecarMissing' && e.regarding.name === 'early');
    });
    expect(event.type).toBe('Warning');
    expect(event.note).toContain('delete the pod so that its controller recreates it with the sidecar');
    await check.stop();
  });
});
