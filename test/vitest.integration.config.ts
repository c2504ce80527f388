import { defineConfig } from 'vitest/config';

// One real kube-apiserver + etcd for the whole tier (started in globalSetup); files run one at a
// time because they share it and the machine has two cores.
export default defineConfig({
  test: {
    include: ['test/integration/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
