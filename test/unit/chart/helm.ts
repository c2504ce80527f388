/** Runs the real helm on charts/scopegate (rendering needs no cluster) and parses what it prints. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { toolPath } from '../../support/control-plane.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART = path.join(REPO, 'charts/scopegate');
export const CI_VALUES = ['default', 'cert-manager', 'monitoring', 'single-replica', 'custom-namespaces'].map(
  (name) => path.join(CHART, 'ci', `${name}-values.yaml`),
);
export const TENANT = ['--set', 'tenant.cloudName=acme', '--set-string', 'tenant.orgId=1234567'];

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runHelm(
  args: readonly string[],
  options: { kubeconfig?: string; timeoutMs?: number } = {},
): Promise<HelmResult> {
  const kube = options.kubeconfig === undefined ? [] : ['--kubeconfig', options.kubeconfig];
  return new Promise((resolve, reject) => {
    execFile(
      toolPath('helm'),
      [...kube, ...args],
      {
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 32 * 1024 * 1024,
        env: { ...process.env, HELM_NO_PLUGINS: '1' },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

export type Manifest = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
};

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`helm printed invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as Manifest | null;
    })
    .filter((doc): doc is Manifest => doc !== null);
}

/** `helm template` of the chart; throws with helm's message when it fails. */
export async function renderChart(
  args: readonly string[] = TENANT,
  release = 'sg',
  namespace = 'scopegate-system',
): Promise<Manifest[]> {
  const result = await runHelm(['template', release, CHART, '--namespace', namespace, ...args]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseManifests(result.stdout);
}

export function find(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found === undefined) throw new Error(`no ${kind}${name === undefined ? '' : ` ${name}`} rendered`);
  return found;
}
