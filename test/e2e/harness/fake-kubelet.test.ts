import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFakeKubelet, type FakeKubelet, type RunningPod } from '../../support/fake-kubelet.js';
import { httpRequest } from '../../support/http-client.js';

const NS = 'harness-kubelet';

function samplePod(name: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: NS,
      labels: { app: name },
      annotations: { 'example.com/note': 'and an annotation' },
    },
    spec: {
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'app',
          image: 'scopegate-e2e/sample-api:dev',
          command: ['node', 'dist/test/e2e/sample-api.js'],
          args: ['--listen', '127.0.0.1:8080'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
        },
        {
          name: 'reader',
          image: 'node:20',
          command: ['node', '-e'],
          args: [
            'console.log("greeting", process.env.GREETING, require("fs").readFileSync("/etc/greeting/text", "utf8"), require("fs").readFileSync("/etc/podinfo/note", "utf8")); setInterval(() => {}, 1e9)',
          ],
          env: [{ name: 'GREETING', valueFrom: { secretKeyRef: { name: 'greeting', key: 'word' } } }],
          volumeMounts: [
            { name: 'greeting', mountPath: '/etc/greeting' },
            { name: 'podinfo', mountPath: '/etc/podinfo', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'greeting', configMap: { name: 'greeting' } },
        {
          name: 'podinfo',
          downwardAPI: {
            items: [{ path: 'note', fieldRef: { fieldPath: "metadata.annotations['example.com/note']" } }],
          },
        },
      ],
    },
  };
}

describe('fake kubelet (real kube-apiserver, local processes)', () => {
  let core: CoreV1Api;
  let kubelet: FakeKubelet;
  let pod: RunningPod;

  beforeAll(async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(inject('kubeconfigPath'));
    core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await core.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name: 'greeting' }, stringData: { word: 'hello' } },
    });
    await core.createNamespacedConfigMap({
      namespace: NS,
      body: { metadata: { name: 'greeting' }, data: { text: 'from a configmap' } },
    });
    await core.createNamespacedPod({ namespace: NS, body: samplePod('sample-api') });
    kubelet = await startFakeKubelet({ kubeconfig: inject('kubeconfigPath'), syncIntervalMs: 200 });
    pod = await kubelet.runPod({
      namespace: NS,
      name: 'sample-api',
      podIp: '127.0.0.142',
      readyTimeoutMs: 30_000,
    });
  });
  afterAll(async () => {
    await kubelet?.stop();
    await core?.deleteNamespace({ name: NS }).catch(() => undefined);
  });

  it('binds the pod to its Node and reports IP, phase and readiness through the API', async () => {
    const node = await core.readNode({ name: kubelet.nodeName });
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const p = await core.readNamespacedPod({ namespace: NS, name: 'sample-api' });
    expect(p.spec?.nodeName).toBe(kubelet.nodeName);
    expect(p.status).toMatchObject({
      phase: 'Running',
      podIP: '127.0.0.142',
      podIPs: [{ ip: '127.0.0.142' }],
    });
    expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(p.status?.containerStatuses?.map((c) => [c.name, c.ready, !!c.state?.running])).toEqual([
      ['app', true, true],
      ['reader', true, true],
    ]);
  });

  it('runs the containers on the pod IP with env, secrets and volumes resolved', async () => {
    const res = await httpRequest('http://127.0.0.142:8080/v1/items');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ items: [{ id: '1' }] });
    await expect(httpRequest('http://127.0.0.1:8080/healthz', { timeoutMs: 500 })).rejects.toThrow();
    await expect
      .poll(() => pod.logs('reader'))
      .toContain('greeting hello from a configmap and an annotation');
  });

  it('restarts a container that dies and counts the restart', async () => {
    const p = await core.readNamespacedPod({ namespace: NS, name: 'sample-api' });
    const pid = Number(
      p.status?.containerStatuses?.find((c) => c.name === 'app')?.containerID?.replace('fake://', ''),
    );
    expect(pid).toBeGreaterThan(0);
    process.kill(-pid, 'SIGKILL');
    await expect
      .poll(
        async () => {
          const now = await core.readNamespacedPod({ namespace: NS, name: 'sample-api' });
          const app = now.status?.containerStatuses?.find((c) => c.name === 'app');
          return [app?.restartCount, app?.ready, app?.lastState?.terminated?.exitCode];
        },
        { timeout: 15_000, interval: 200 },
      )
      .toEqual([1, true, 137]);
  });

  it('finalizes a pod deleted through the API and stops its processes', async () => {
    await core.createNamespacedPod({ namespace: NS, body: samplePod('doomed') });
    const doomed = await kubelet.runPod({
      namespace: NS,
      name: 'doomed',
      podIp: '127.0.0.143',
      readyTimeoutMs: 30_000,
    });
    expect((await httpRequest('http://127.0.0.143:8080/healthz')).status).toBe(200);
    await core.deleteNamespacedPod({ namespace: NS, name: 'doomed' });
    await expect
      .poll(
        () =>
          core.readNamespacedPod({ namespace: NS, name: 'doomed' }).then(
            () => 'present',
            () => 'gone',
          ),
        {
          timeout: 15_000,
          interval: 200,
        },
      )
      .toBe('gone');
    await sleep(200);
    await expect(httpRequest('http://127.0.0.143:8080/healthz', { timeoutMs: 500 })).rejects.toThrow();
    await doomed.stop();
  });

  it('stop() kills the processes and reports the pod not ready', async () => {
    await pod.stop();
    const p = await core.readNamespacedPod({ namespace: NS, name: 'sample-api' });
    expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(p.status?.containerStatuses?.every((c) => c.state?.terminated !== undefined)).toBe(true);
    await expect(httpRequest('http://127.0.0.142:8080/healthz', { timeoutMs: 500 })).rejects.toThrow();
  });
});
