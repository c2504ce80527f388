import { describe, expect, it, vi } from 'vitest';
import type { FetchOutcome } from '../../../operator/src/jwks/fetch-jwks.js';
import { KeyStore, type KeyState } from '../../../operator/src/jwks/key-store.js';
import { EC_KEY, RSA_KEY } from './builders.js';

const source = { uid: 'u1', issuer: 'https://idp', uri: 'https://idp/keys', refreshIntervalMs: 60_000 };

function setup(outcomes: FetchOutcome[]) {
  let clock = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let ids = 0;
  const fakeTimers = {
    now: () => clock,
    setTimeout: (fn: () => void, ms: number) => {
      const t = { at: clock + ms, fn, id: ids++ };
      timers.push(t);
      return t.id;
    },
    clearTimeout: (id: unknown) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
  };
  const fetcher = vi.fn(
    async () => outcomes.shift() ?? { ok: false as const, reason: 'FetchFailed', message: 'down' },
  );
  const fetched: { key: string; state: KeyState; changed: boolean }[] = [];
  const store = new KeyStore({
    fetcher,
    timeoutMs: 1000,
    minRefreshIntervalMs: 10_000,
    backoff: { initialMs: 1000, maxMs: 8000 },
    timers: fakeTimers,
    onFetched: (key, state, changed) => fetched.push({ key, state, changed }),
  });
  const advance = async (ms: number) => {
    clock += ms;
    for (const t of [...timers].sort((a, b) => a.at - b.at)) {
      if (t.at <= clock) {
        timers.splice(timers.indexOf(t), 1);
        t.fn();
        await new Promise((r) => setImmediate(r));
      }
    }
  };
  const settle = () => new Promise((r) => setImmediate(r));
  return { store, fetcher, fetched, advance, settle, timers };
}

describe('KeyStore', () => {
  it('fetches at once, then on the refresh interval', async () => {
    const t = setup([
      { ok: true, keys: [RSA_KEY], dropped: [] },
      { ok: true, keys: [RSA_KEY], dropped: [] },
    ]);
    t.store.track('ns/a', source);
    await t.settle();
    expect(t.store.get('ns/a')).toMatchObject({ keys: [RSA_KEY], attempted: true, failures: 0 });
    expect(t.fetched[0]!.changed).toBe(true);
    await t.advance(60_000);
    expect(t.fetcher).toHaveBeenCalledTimes(2);
    expect(t.fetched[1]!.changed).toBe(false);
  });

  it('keeps the last good keys through failures and retries with backoff', async () => {
    const t = setup([{ ok: true, keys: [RSA_KEY], dropped: [] }]);
    t.store.track('ns/a', source);
    await t.settle();
    await t.advance(60_000); // refresh fails
    const state = t.store.get('ns/a')!;
    expect(state.keys).toEqual([RSA_KEY]);
    expect(state.lastError?.reason).toBe('FetchFailed');
    expect(t.timers[0]!.at - 60_000).toBeLessThanOrEqual(1000); // first retry within the initial backoff
  });

  it('rate-limits refresh requests per server, deferring rather than dropping them', async () => {
    const t = setup([
      { ok: true, keys: [RSA_KEY], dropped: [] },
      { ok: true, keys: [RSA_KEY, EC_KEY], dropped: [] },
    ]);
    t.store.track('ns/a', source);
    await t.settle();
    // Fetched just now: the refetch waits for the rate limit instead of being dropped.
    expect(t.store.requestRefresh('ns/a')).toBe('scheduled');
    expect(t.store.requestRefresh('ns/a')).toBe('scheduled');
    expect(t.store.get('ns/a')!.keys).toEqual([RSA_KEY]);
    await t.advance(10_000);
    await t.settle();
    expect(t.store.get('ns/a')!.keys).toEqual([RSA_KEY, EC_KEY]);
    expect(t.store.requestRefresh('ns/other')).toBe('unknown');
  });

  it('drops keys when the issuer changes, keeps them when only the URI changes', async () => {
    const t = setup([{ ok: true, keys: [RSA_KEY], dropped: [] }]);
    t.store.track('ns/a', source);
    await t.settle();
    t.store.track('ns/a', { ...source, uri: 'https://idp/v2/keys' });
    expect(t.store.get('ns/a')!.keys).toEqual([RSA_KEY]);
    await t.settle();
    t.store.track('ns/a', { ...source, issuer: 'https://other' });
    expect(t.store.get('ns/a')!.keys).toBeUndefined();
  });
});
