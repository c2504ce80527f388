#!/usr/bin/env node
/**
 * The one `scopegate` command. Each subcommand lives with its component and is loaded on demand, so
 * the sidecar never loads the operator's Kubernetes client and vice versa.
 */
const USAGE = `Usage: scopegate <command> [options]

Commands:
  operator   Run the control plane: reconcile ApiRole and AuthorizationServer, push config to sidecars
  sidecar    Run the enforcing reverse proxy (in a pod, or standalone with --resources)
  explain    Decide one request offline and explain every step
  version    Print the version

Run 'scopegate <command> --help' for the options of a command.`;

/** Resolves with the exit code; long-running commands resolve once they have shut down (SIGTERM). */
type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  operator: async () => (await import('./operator-command.js')).runOperatorCommand,
  sidecar: async () => (await import('../../sidecar/src/cli/sidecar-command.js')).runSidecarCommand,
  explain: async () => (await import('../../sidecar/src/cli/explain-command.js')).runExplainCommand,
  version: async () => async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    console.log(`scopegate ${pkg.version}`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    console.error(`scopegate: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  // Long-running commands (operator, sidecar) resolve only once they have shut down.
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`scopegate: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
