/**
 * Runs the real `scopegate sidecar` (the compiled CLI, `node dist/operator/src/cli.js`) as a child
 * process and waits for its "sidecar listening" log line, which carries the real addresses.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
export const CLI = `${REPO}dist/operator/src/cli.js`;

export interface SidecarProcess {
  child: ChildProcess;
  listenUrl: string;
  adminUrl: string;
  /** Everything written to stdout (the audit stream by default) and stderr (logs). */
  stdout(): string;
  stderr(): string;
  /** Log lines (stderr) parsed as JSON. */
  logs(): Record<string, unknown>[];
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startSidecarProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<SidecarProcess> {
  const child = spawn(process.execPath, [CLI, 'sidecar', ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  // Never outlive the test process, even when it dies before its afterAll hooks run.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));
  const parseLogs = () =>
    err
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar did not start in time:\n${err}`)), 20_000);
    const check = () => {
      const line = parseLogs().find((l) => l['msg'] === 'sidecar listening');
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code} before listening:\n${err}`));
    });
  });
  return {
    child,
    listenUrl: started['listen'] as string,
    adminUrl: started['admin'] as string,
    stdout: () => out,
    stderr: () => err,
    logs: parseLogs,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs the CLI to completion (for start-up failures). */
export async function runSidecarCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'sidecar', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr: err };
}
