/**
 * Calls back when a file may have changed: fs.watch on its directory (editors and ConfigMap
 * mounts replace files by rename, which a watch on the file itself would miss) plus a stat poll as
 * the fallback for filesystems where fs.watch is silent (network mounts, some containers).
 * Events are debounced; the callback decides whether the content really changed.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface FileWatcherOptions {
  pollIntervalMs: number;
  debounceMs: number;
  onError(error: Error): void;
}

export interface FileWatcher {
  close(): void;
}

export function watchFile(path: string, onChange: () => void, options: FileWatcherOptions): FileWatcher {
  let debounce: NodeJS.Timeout | undefined;
  let closed = false;
  const trigger = () => {
    if (closed) return;
    if (debounce !== undefined) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      if (!closed) onChange();
    }, options.debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    const name = basename(path);
    // Kubernetes ConfigMap volumes swap a `..data` symlink; any event in the directory may matter.
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === null || file === name || file.startsWith('..')) trigger();
    });
    watcher.on('error', (error) => options.onError(error));
  } catch (error) {
    options.onError(error as Error); // the poll below still works
  }

  let lastSignature: string | undefined;
  let polling = false;
  const poll = async () => {
    if (polling || closed) return;
    polling = true;
    try {
      const info = await stat(path);
      const signature = `${info.ino}:${info.size}:${info.mtimeMs}`;
      if (lastSignature !== undefined && signature !== lastSignature) trigger();
      lastSignature = signature;
    } catch {
      if (lastSignature !== 'missing' && lastSignature !== undefined) trigger();
      lastSignature = 'missing';
    } finally {
      polling = false;
    }
  };
  void poll();
  const poller = setInterval(() => void poll(), options.pollIntervalMs).unref();

  return {
    close() {
      closed = true;
      watcher?.close();
      clearInterval(poller);
      if (debounce !== undefined) clearTimeout(debounce);
    },
  };
}
