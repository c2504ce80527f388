/**
 * Installs the scopegate Helm chart with the real `helm`, and derives from the release what a kubelet
 * would give the operator's pod: its environment (the chart configures the operator only through env)
 * and its ServiceAccount's identity (a TokenRequest token, so the chart's RBAC is what the operator
 * gets). Without a controller manager the Deployment never gets pods: the operator runs as a process
 * with exactly that configuration instead, its addresses moved to loopback.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { V1Container, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { helm, kubectl } from './control-plane.js';
import { REPO_ROOT } from './fake-kubelet.js';
import { containerEnv } from './pod-runtime.js';

export const CHART_DIR = path.join(REPO_ROOT, 'charts/scopegate');

export interface ChartRelease {
  name: string;
  namespace: string;
  manifests: Record<string, unknown>[];
}

type Manifest = { kind?: string; metadata?: { name?: string } } & Record<string, unknown>;

async function ok(what: string, p: Promise<{ code: number; stdout: string; stderr: string }>) {
  const res = await p;
  if (res.code !== 0) throw new Error(`${what} failed (${res.code}):\n${res.stderr}${res.stdout}`);
  return res.stdout;
}

/** `helm upgrade --install` (no --wait: without a kubelet the Deployment never becomes available). */
export async function installChart(o: {
  kubeconfig: string;
  release: string;
  namespace: string;
  values: string[];
}): Promise<ChartRelease> {
  await ok(
    'helm install',
    helm(
      [
        'upgrade',
        '--install',
        o.release,
        CHART_DIR,
        '--namespace',
        o.namespace,
        '--create-namespace',
        ...o.values,
      ],
      { kubeconfig: o.kubeconfig, timeoutMs: 120_000 },
    ),
  );
  const text = await ok(
    'helm get manifest',
    helm(['get', 'manifest', o.release, '--namespace', o.namespace], { kubeconfig: o.kubeconfig }),
  );
  const manifests = parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
  return { name: o.release, namespace: o.namespace, manifests };
}

export function findManifest<T = Manifest>(release: ChartRelease, kind: string): T {
  const found = release.manifests.find((m) => (m as Manifest).kind === kind);
  if (found === undefined) throw new Error(`the chart rendered no ${kind}`);
  return found as T;
}

/** The operator container's environment as the kubelet would resolve it for a pod of the Deployment. */
export function operatorEnvFromChart(release: ChartRelease, podName: string): Record<string, string> {
  const deployment = findManifest<V1Deployment>(release, 'Deployment');
  const template = deployment.spec!.template;
  const container = template.spec!.containers.find((c: V1Container) => c.name === 'operator');
  if (container === undefined) throw new Error('the chart Deployment has no container named operator');
  const pod: V1Pod = {
    metadata: { ...template.metadata, name: podName, namespace: release.namespace },
    spec: template.spec!,
  };
  return containerEnv(container, {
    pod,
    podIp: '',
    nodeName: '',
    hostIp: '',
    cwd: REPO_ROOT,
    images: {},
    commands: {},
    volumes: {},
    secrets: {},
    configMaps: {},
    baseEnv: {},
  });
}

/**
 * A kubeconfig that authenticates as the chart's ServiceAccount (a TokenRequest token, as a projected
 * service account token volume would hold), against the same API server as `adminKubeconfig`.
 */
export async function serviceAccountKubeconfig(o: {
  adminKubeconfig: string;
  namespace: string;
  serviceAccount: string;
  file: string;
}): Promise<string> {
  const token = (
    await ok(
      'kubectl create token',
      kubectl(['create', 'token', o.serviceAccount, '-n', o.namespace, '--duration=2h'], {
        kubeconfig: o.adminKubeconfig,
      }),
    )
  ).trim();
  const view = JSON.parse(
    await ok(
      'kubectl config view',
      kubectl(['config', 'view', '--raw', '--minify', '-o', 'json'], { kubeconfig: o.adminKubeconfig }),
    ),
  ) as { clusters: { cluster: Record<string, string> }[] };
  const cluster = view.clusters[0]!.cluster;
  const user = `system:serviceaccount:${o.namespace}:${o.serviceAccount}`;
  fs.writeFileSync(
    o.file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'scopegate', cluster }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'scopegate', context: { cluster: 'scopegate', user, namespace: o.namespace } }],
      'current-context': 'scopegate',
    }),
    { mode: 0o600 },
  );
  return o.file;
}
