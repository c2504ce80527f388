// `make cluster-up` / `make cluster-down`: a long-lived control plane for trying things by hand, in
// $SCOPEGATE_CACHE/cluster (default ~/.cache/scopegate/cluster). Run from dist after `npm run build`:
//
//   node dist/test/support/cluster-cli.js up|down|status
//
// `up` returns once kube-apiserver is ready and prints `export KUBECONFIG=...` on stdout (everything
// else goes to stderr, so `eval "$(node dist/test/support/cluster-cli.js up)"` works). A second `up`
// prints the running one. `down` stops both processes and removes the directory.
import path from 'node:path';
import { cacheDir, controlPlaneStatus, startControlPlane, stopControlPlaneInDir } from './control-plane.js';

async function main(argv: readonly string[]): Promise<number> {
  const dir = path.join(cacheDir(), 'cluster');
  const command = argv[0] ?? 'status';
  const status = controlPlaneStatus(dir);
  switch (command) {
    case 'up': {
      if (status?.running) {
        console.error(`cluster already running: ${status.server} (state in ${dir})`);
        console.log(`export KUBECONFIG=${status.kubeconfigPath}`);
        return 0;
      }
      const cp = await startControlPlane({ dir, persistent: true, log: (m) => console.error(m) });
      console.error(`cluster up: ${cp.server}; stop it with \`make cluster-down\``);
      console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
      return 0;
    }
    case 'down': {
      const killed = await stopControlPlaneInDir(dir);
      console.error(killed ? `cluster stopped (${dir} removed)` : 'no cluster running');
      return 0;
    }
    case 'status': {
      if (status?.running) {
        console.error(`cluster running: ${status.server}`);
        console.log(`export KUBECONFIG=${status.kubeconfigPath}`);
        return 0;
      }
      console.error('no cluster running');
      return 1;
    }
    default:
      console.error('usage: cluster-cli up|down|status');
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
