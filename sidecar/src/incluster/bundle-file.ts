/**
 * The last accepted config bundle on disk (an emptyDir in the pod), so a restarted sidecar enforces
 * at once instead of answering 503 until the next push. The file is the signed JWS as received:
 * it is verified again on load and never trusted because of where it lies.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const BUNDLE_FILE_NAME = 'config.jws';

export class BundleFile {
  readonly path: string;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.path = join(dir, BUNDLE_FILE_NAME);
  }

  /** Creates the directory; throws when it cannot be created (a startup mistake). */
  async prepare(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
  }

  /** The persisted bundle text, or undefined when there is none. */
  async read(): Promise<string | undefined> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Atomic replace: write a temp file in the same directory, fsync, rename over the old one. */
  async write(jws: string): Promise<void> {
    const temp = join(this.#dir, `.${BUNDLE_FILE_NAME}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const handle = await open(temp, 'w', 0o600);
      try {
        await handle.writeFile(jws, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw error;
    }
    await syncDirectory(this.#dir);
  }
}

/** Makes the rename durable; best effort (not every filesystem allows opening a directory). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // ignored: durability of the rename is a bonus, the bundle is pushed again anyway
  }
}
