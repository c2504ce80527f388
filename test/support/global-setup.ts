// vitest globalSetup of the integration and e2e tiers: one real control plane for the whole run.
// Tests read its kubeconfig with `inject('kubeconfigPath')` (typed below) or from
// process.env.SCOPEGATE_TEST_KUBECONFIG. Set SCOPEGATE_TEST_KUBECONFIG beforehand to run the tests
// against a cluster that is already up (`make cluster-up`) instead of starting one.
import type { TestProject } from 'vitest/node';
import { startControlPlane } from './control-plane.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Kubeconfig of the run's control plane (admin client certificate, system:masters). */
    kubeconfigPath: string;
    /** `https://127.0.0.1:<port>` of its kube-apiserver. */
    apiServerUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const existing = process.env.SCOPEGATE_TEST_KUBECONFIG;
  if (existing) {
    console.log(`[control-plane] using the cluster of SCOPEGATE_TEST_KUBECONFIG=${existing}`);
    project.provide('kubeconfigPath', existing);
    project.provide('apiServerUrl', '');
    return undefined;
  }
  const cp = await startControlPlane({ log: (m) => console.log(`[control-plane] ${m}`) });
  project.provide('kubeconfigPath', cp.kubeconfigPath);
  project.provide('apiServerUrl', cp.server);
  process.env.SCOPEGATE_TEST_KUBECONFIG = cp.kubeconfigPath;
  return async () => {
    await cp.stop();
    delete process.env.SCOPEGATE_TEST_KUBECONFIG;
  };
}
