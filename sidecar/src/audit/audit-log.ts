/**
 * Where audit records go: their own stream, stdout by default or an append-only file, apart from
 * the operational log. Writes are batched (pino's SonicBoom): a record reaches the file within
 * 250 ms, and close() (on SIGTERM) flushes the rest.
 */
import { once } from 'node:events';
import { pino } from 'pino';
import type { AuditRecord } from './audit-record.js';

const AUDIT_BATCH_BYTES = 4096;
const AUDIT_FLUSH_MS = 250;

export interface AuditSink {
  write(record: AuditRecord): void;
  /** Flushes what is buffered and releases the file. */
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** `-` for stdout, otherwise a file path (appended to, created with its directory). */
  target: string;
  onError(error: Error): void;
}

/** Opens the stream; rejects when the file cannot be opened (a startup mistake, reported before listening). */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditSink> {
  const stream = pino.destination({
    dest: options.target === '-' ? 1 : options.target,
    // Synchronous 4 KiB writes from the event loop: an asynchronous write is a libuv thread-pool
    // round trip (futex wake-ups, an extra loop turn) per batch, which costs more CPU than the write.
    sync: true,
    mkdir: options.target !== '-',
    append: true,
    // One write(2) per record would cost more than the rest of a cached-token decision: batch records
    // into 4 KiB writes, and flush at least every 250 ms so a quiet sidecar's records are not held back.
    minLength: AUDIT_BATCH_BYTES,
    periodicFlush: AUDIT_FLUSH_MS,
  });
  await once(stream, 'ready'); // rejects on the 'error' event (e.g. EACCES)
  let failed = false;
  stream.on('error', (error: Error) => {
    failed = true;
    options.onError(error);
  });
  let closed = false;
  return {
    write(record) {
      if (closed) return;
      try {
        stream.write(`${JSON.stringify(record)}\n`);
      } catch (error) {
        options.onError(error as Error);
      }
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => {
        if (failed) return resolve();
        stream.once('close', () => resolve());
        stream.once('error', () => resolve());
        stream.end();
      });
    },
  };
}

/** An audit sink that keeps records in memory, for tests and the benchmark's bare runs. */
export class MemoryAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];
  write(record: AuditRecord): void {
    this.records.push(record);
  }
  async close(): Promise<void> {}
}
