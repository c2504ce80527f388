/**
 * The integration tests run the compiled CLI. This builds it (`tsc`) when dist/ is missing or older
 * than the sidecar sources, once per run; `npm run build` beforehand makes it a no-op.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO } from './sidecar-process.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = Math.min(statSync(CLI).mtimeMs, statSync(join(REPO, 'dist/sidecar/src/main.js')).mtimeMs);
  } catch {
    built = 0;
  }
  if (built >= newestMtime(join(REPO, 'sidecar/src'))) return;
  try {
    // Asynchronous, so the vitest worker stays responsive during the build.
    await promisify(execFile)(
      process.execPath,
      [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      {
        cwd: REPO,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
  } catch {
    // Type errors elsewhere in the workspace do not stop tsc from emitting; the CLI check below decides.
  }
  statSync(CLI);
}
