import { afterEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import type { Jwk } from '../../../crds/src/index.js';
import { JwksFetchError } from '../../../sidecar/src/standalone/jwks-fetch.js';
import { JwksKeeper } from '../../../sidecar/src/standalone/jwks-keeper.js';
import { SidecarMetrics } from '../../../sidecar/src/telemetry/metrics.js';

const key = (kid: string) => ({ kty: 'RSA', kid, n: 'AQAB', e: 'AQAB' }) as Jwk;
const SERVER = { id: 'shop/okta', uri: 'https://idp.test/keys', refreshMs: 3_600_000 };

function setup(fetchKeys: (uri: string) => Promise<Jwk[]>) {
  let now = 1_000_000;
  const metrics = new SidecarMetrics({ version: 'test' });
  const onKeysChanged = vi.fn(async () => undefined);
  const keeper = new JwksKeeper({
    fetchKeys,
    onKeysChanged,
    clock: () => new Date(now),
    logger: pino({ level: 'silent' }),
    metrics,
    unknownKidCooldownMs: 5000,
    retryAfterFailureMs: 30_000,
  });
  return { keeper, metrics, onKeysChanged, advance: (ms: number) => (now += ms) };
}

let current: JwksKeeper | undefined;
afterEach(() => current?.close());

describe('JwksKeeper', () => {
  it('fetches at sync and refetches on an unknown kid at most once per cooldown', async () => {
    const fetchKeys = vi.fn(async () => [key('k1')]);
    const { keeper, advance, onKeysChanged } = setup(fetchKeys);
    current = keeper;
    await keeper.sync([SERVER]);
    expect(keeper.keysOf('shop/okta')?.keys).toEqual([key('k1')]);
    expect(fetchKeys).toHaveBeenCalledTimes(1);

    expect(await keeper.refreshForUnknownKid('shop/okta')).toBe(false); // within the cooldown: deferred
    expect(await keeper.refreshForUnknownKid('shop/okta')).toBe(false);
    expect(fetchKeys).toHaveBeenCalledTimes(1);

    advance(5001);
    fetchKeys.mockResolvedValueOnce([key('k1'), key('k2')]);
    const [a, b] = await Promise.all([
      keeper.refreshForUnknownKid('shop/okta'),
      keeper.refreshForUnknownKid('shop/okta'),
    ]);
    expect([a, b]).toEqual([true, true]); // one shared fetch, keys changed, config rebuilt before resolving
    expect(fetchKeys).toHaveBeenCalledTimes(2);
    expect(onKeysChanged).toHaveBeenCalledTimes(1);
    expect(keeper.keysOf('shop/okta')?.keys).toHaveLength(2);
  });

  it('keeps the last good keys when a fetch fails, and counts the failure by kind', async () => {
    const fetchKeys = vi.fn(async () => [key('k1')]);
    const { keeper, advance, metrics, onKeysChanged } = setup(fetchKeys);
    current = keeper;
    await keeper.sync([SERVER]);
    advance(6000);
    fetchKeys.mockRejectedValueOnce(new JwksFetchError('timeout', 'slow'));
    expect(await keeper.refreshForUnknownKid('shop/okta')).toBe(false);
    expect(keeper.keysOf('shop/okta')?.keys).toEqual([key('k1')]);
    expect(onKeysChanged).not.toHaveBeenCalled();
    const text = await metrics.registry.getSingleMetricAsString('scopegate_sidecar_jwks_fetches_total');
    expect(text).toContain('{server="shop/okta",result="timeout"} 1');
    expect(text).toContain('{server="shop/okta",result="success"} 1');
  });

  it('does not report a change when the same keys come back, and forgets removed servers', async () => {
    const fetchKeys = vi.fn(async () => [key('k1')]);
    const { keeper, advance } = setup(fetchKeys);
    current = keeper;
    await keeper.sync([SERVER]);
    advance(6000);
    expect(await keeper.refreshForUnknownKid('shop/okta')).toBe(false);
    expect(fetchKeys).toHaveBeenCalledTimes(2);
    await keeper.sync([]);
    expect(keeper.keysOf('shop/okta')).toBeUndefined();
    expect(await keeper.refreshForUnknownKid('shop/okta')).toBe(false);
  });

  it('refetches when the uri or CA of a server changes', async () => {
    const fetchKeys = vi.fn(async () => [key('k1')]);
    const { keeper } = setup(fetchKeys);
    current = keeper;
    await keeper.sync([SERVER]);
    await keeper.sync([SERVER]);
    expect(fetchKeys).toHaveBeenCalledTimes(1);
    await keeper.sync([{ ...SERVER, caBundle: 'PEM' }]);
    expect(fetchKeys).toHaveBeenCalledTimes(2);
  });
});
