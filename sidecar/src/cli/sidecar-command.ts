/**
 * `scopegate sidecar`: reads flags and the environment once, starts the sidecar, and resolves with
 * the exit code after SIGTERM or SIGINT has drained in-flight requests (0), or when start-up fails
 * (2 for wrong usage, 1 for a start-up problem such as an invalid resources file).
 */
import { SidecarStartupError } from '../errors.js';
import { startSidecar } from '../main.js';
import { parseSidecarOptions, SIDECAR_USAGE } from './sidecar-options.js';

export async function runSidecarCommand(argv: string[]): Promise<number> {
  const parsed = parseSidecarOptions(argv, { ...process.env });
  if (parsed.kind === 'help') {
    console.log(SIDECAR_USAGE);
    return 0;
  }
  if (parsed.kind === 'error') {
    console.error(
      `scopegate sidecar: ${parsed.errors.join('\nscopegate sidecar: ')}\n\nRun 'scopegate sidecar --help' for usage.`,
    );
    return 2;
  }
  let sidecar;
  try {
    sidecar = await startSidecar(parsed.options);
  } catch (error) {
    if (error instanceof SidecarStartupError) {
      console.error(`scopegate sidecar: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const signal = await nextSignal(['SIGTERM', 'SIGINT']);
  sidecar.logger.info({ signal }, 'shutting down: draining in-flight requests');
  const drained = await sidecar.close();
  return drained ? 0 : 1;
}

/** Resolves with the first of these signals; a second one while draining exits at once. */
function nextSignal(signals: NodeJS.Signals[]): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, onSignal);
      for (const s of signals) process.once(s, () => process.exit(130));
      resolve(signal);
    };
    for (const s of signals) process.on(s, onSignal);
  });
}
