import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../../../operator/src/kube/backoff.js';
import type { Timers } from '../../../operator/src/kube/timers.js';
import { WorkQueue } from '../../../operator/src/kube/workqueue.js';

// Generous: these wait on real promises, and CI shares two cores with other suites.
const eventually = <T>(check: () => T | Promise<T>) => vi.waitFor(check, { timeout: 10_000, interval: 10 });

const fakeTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('backoffDelay', () => {
  it.each([
    [1, 0, 50],
    [1, 0.999, 100],
    [2, 0, 100],
    [3, 0.5, 300],
    [20, 0, 500],
    [20, 1, 1000],
  ])('failure %i with random %f → %i ms', (failures, random, expected) => {
    expect(backoffDelay({ initialMs: 100, maxMs: 1000 }, failures, random)).toBeCloseTo(expected, -1);
  });
});

describe('WorkQueue', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('de-duplicates keys waiting in the queue', async () => {
    const seen: string[] = [];
    const q = new WorkQueue({
      concurrency: 1,
      backoff: { initialMs: 10, maxMs: 100 },
      timers: fakeTimers,
      handler: async (k) => void seen.push(k),
    });
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    q.start();
    await q.whenIdle();
    expect(seen).toEqual(['a', 'b']);
  });

  it('runs one reconcile per key at a time and re-runs a key added while it ran', async () => {
    const gates: ReturnType<typeof deferred>[] = [];
    let concurrent = 0;
    let maxConcurrent = 0;
    const q = new WorkQueue({
      concurrency: 4,
      backoff: { initialMs: 10, maxMs: 100 },
      timers: fakeTimers,
      handler: async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        concurrent--;
      },
    });
    q.start();
    q.add('a');
    q.add('a'); // while running: marked dirty, not run in parallel
    expect(q.inFlight).toBe(1);
    expect(q.depth).toBe(0);
    gates[0]!.resolve();
    await eventually(() => expect(gates).toHaveLength(2));
    gates[1]!.resolve();
    await q.whenIdle();
    expect(maxConcurrent).toBe(1);
  });

  it('processes distinct keys concurrently up to the limit', async () => {
    const gates: ReturnType<typeof deferred>[] = [];
    const q = new WorkQueue({
      concurrency: 2,
      backoff: { initialMs: 10, maxMs: 100 },
      timers: fakeTimers,
      handler: async () => {
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
      },
    });
    q.start();
    for (const k of ['a', 'b', 'c']) q.add(k);
    expect(q.inFlight).toBe(2);
    expect(q.depth).toBe(1);
    gates.forEach((g) => g.resolve());
    await eventually(() => expect(gates).toHaveLength(3));
    gates[2]!.resolve();
    await q.whenIdle();
  });

  it('requeues failures with exponential per-key backoff and forgets them after a success', async () => {
    const calls: number[] = [];
    let failuresLeft = 3;
    const q = new WorkQueue({
      concurrency: 1,
      backoff: { initialMs: 100, maxMs: 10_000 },
      random: () => 0.999999,
      timers: fakeTimers,
      handler: async () => {
        calls.push(Date.now());
        if (failuresLeft-- > 0) throw new Error('boom');
      },
    });
    const start = Date.now();
    q.start();
    q.add('k');
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls.map((t) => t - start)).toEqual([0, 100, 300, 700]);
    expect(q.failuresOf('k')).toBe(0);
  });

  it('honours requeueAfter and keeps the earliest of two delayed adds', async () => {
    const calls: number[] = [];
    const start = Date.now();
    const q = new WorkQueue({
      concurrency: 1,
      backoff: { initialMs: 100, maxMs: 1000 },
      timers: fakeTimers,
      handler: async () => {
        calls.push(Date.now() - start);
        return calls.length === 1 ? { requeueAfterMs: 1000 } : undefined;
      },
    });
    q.start();
    q.add('k');
    await vi.advanceTimersByTimeAsync(1);
    q.addAfter('k', 500);
    q.addAfter('k', 2000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(calls).toEqual([0, 501]); // 1 ms in + 500, earlier than the pending 1000 and the later 2000
  });

  it('stop drops delayed keys and waits for reconciles in flight', async () => {
    const gate = deferred();
    const seen: string[] = [];
    const q = new WorkQueue({
      concurrency: 1,
      backoff: { initialMs: 100, maxMs: 1000 },
      timers: fakeTimers,
      handler: async (k) => {
        seen.push(k);
        if (k === 'slow') await gate.promise;
      },
    });
    q.start();
    q.add('slow');
    q.addAfter('later', 100);
    let stopped = false;
    const stopping = q.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(200);
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    q.add('after-stop');
    await vi.advanceTimersByTimeAsync(200);
    expect(seen).toEqual(['slow']);
  });
});
