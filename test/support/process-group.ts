/**
 * The harness starts servers as detached children (each leads its own process group) so that
 * whatever they spawn goes with them; these stop a whole group.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** SIGKILL to the child's group if it still runs: for `process.on('exit')`, which cannot wait. */
export function killGroupNow(child: ChildProcess | undefined): void {
  if (child?.pid !== undefined && child.exitCode === null) signalGroup(child.pid, 'SIGKILL');
}

/** SIGTERM to the child's group, SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  signalGroup(child.pid, 'SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])) === false) {
    killGroupNow(child);
    await exited;
  }
}
