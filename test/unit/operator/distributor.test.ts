import { describe, expect, it, vi } from 'vitest';
import type { SidecarConfig } from '../../../sidecar/src/config/contract.js';
import { configDigest } from '../../../sidecar/src/config/from-resources.js';
import type { NamespaceResources } from '../../../operator/src/bundles/render.js';
import { Distributor } from '../../../operator/src/push/distributor.js';
import type { SidecarClient } from '../../../operator/src/push/sidecar-client.js';
import type { SidecarEndpoint } from '../../../operator/src/push/sidecar-pods.js';
import { RSA_KEY, role, server, TENANT } from './builders.js';

// Generous: these wait on real promises, and CI shares two cores with other suites.
const eventually = <T>(check: () => T | Promise<T>) => vi.waitFor(check, { timeout: 10_000, interval: 10 });

/** In-memory sidecars with the real acceptance rule: only a newer revision is applied. */
class FakeSidecars implements SidecarClient {
  running = new Map<string, { revision: number; digest: string; config: SidecarConfig }>();
  down = new Set<string>();
  pushes = 0;
  probes = 0;
  async probe(url: string) {
    this.probes++;
    if (this.down.has(url)) return { kind: 'error' as const, message: 'ECONNREFUSED' };
    const r = this.running.get(url);
    return r
      ? { kind: 'config' as const, revision: r.revision, digest: r.digest }
      : { kind: 'no-config' as const };
  }
  async push(url: string, jws: string) {
    this.pushes++;
    if (this.down.has(url)) return { kind: 'error' as const, message: 'ECONNREFUSED' };
    const config = JSON.parse(jws) as SidecarConfig;
    const current = this.running.get(url);
    if (current && config.revision <= current.revision) return { kind: 'stale' as const };
    this.running.set(url, { revision: config.revision, digest: configDigest(config), config });
    return { kind: 'applied' as const };
  }
  close() {}
}

function setup(initialPods: SidecarEndpoint[]) {
  const state = {
    resources: new Map<string, NamespaceResources>([
      [
        'team-a',
        { servers: [{ resource: server('idp'), keys: { keys: [RSA_KEY] } }], roles: [role('reader')] },
      ],
    ]),
    pods: initialPods,
  };
  let next = 100;
  const allocator = {
    observed: 0,
    allocate: async () => {
      next = Math.max(next, allocator.observed) + 1;
      return next;
    },
    observe(r: number) {
      allocator.observed = Math.max(allocator.observed, r);
    },
  };
  const sidecars = new FakeSidecars();
  const sign = vi.fn(async (config: SidecarConfig) => JSON.stringify(config));
  const propagation: number[] = [];
  const distributor = new Distributor({
    tenant: TENANT,
    collect: () => ({ resources: state.resources, held: new Set(), targets: state.pods }),
    allocator,
    sign,
    client: sidecars,
    concurrency: 4,
    antiEntropyMs: 60_000,
    backoff: { initialMs: 5, maxMs: 20 },
    metrics: {
      request: () => {},
      sidecars: () => {},
      propagation: (s) => propagation.push(s),
      revision: () => {},
    },
  });
  return { state, sidecars, sign, distributor, propagation, allocator };
}

const pod = (i: number, labels: Record<string, string> = {}): SidecarEndpoint => ({
  uid: `u${i}`,
  namespace: 'team-a',
  name: `p${i}`,
  adminUrl: `http://10.0.0.${i}:15901`,
  labels,
  forwardAuthorization: false,
  incarnation: `10.0.0.${i}/0`,
});

const allRun = (s: FakeSidecars, urls: string[], predicate: (c: SidecarConfig) => boolean) =>
  urls.every((u) => {
    const r = s.running.get(u);
    return r !== undefined && predicate(r.config);
  });

describe('Distributor', () => {
  it('asks new sidecars what they run, then pushes one shared bundle signed once', async () => {
    const pods = [pod(1), pod(2), pod(3)];
    const t = setup(pods);
    t.distributor.start();
    await eventually(() =>
      expect(
        allRun(
          t.sidecars,
          pods.map((p) => p.adminUrl),
          (c) => c.roles.length === 1,
        ),
      ).toBe(true),
    );
    expect(t.sign).toHaveBeenCalledTimes(1);
    expect(t.distributor.roleSidecars('team-a', 'reader')).toEqual({
      selected: 3,
      current: 3,
      revision: 101,
    });
    await t.distributor.stop();
  });

  it('re-signs and pushes on a change, and records the propagation time once all acknowledged', async () => {
    const pods = [pod(1), pod(2)];
    const t = setup(pods);
    t.distributor.start();
    await eventually(() => expect(t.distributor.roleSidecars('team-a', 'reader').current).toBe(2));
    // The first rollout is measured once every sidecar has acknowledged it.
    await eventually(() => expect(t.propagation).toHaveLength(1));
    t.state.resources.get('team-a')!.roles.push(role('writer'));
    t.distributor.invalidate();
    await eventually(() =>
      expect(
        allRun(
          t.sidecars,
          pods.map((p) => p.adminUrl),
          (c) => c.roles.length === 2,
        ),
      ).toBe(true),
    );
    await eventually(() => expect(t.propagation).toHaveLength(2));
    expect(t.sidecars.running.get(pods[0]!.adminUrl)!.revision).toBe(102);
    await t.distributor.stop();
  });

  it('does not push to a sidecar that already runs the same content (operator restart)', async () => {
    const pods = [pod(1)];
    const first = setup(pods);
    first.distributor.start();
    await eventually(() => expect(first.distributor.roleSidecars('team-a', 'reader').current).toBe(1));
    await first.distributor.stop();
    const second = setup(pods);
    second.sidecars.running = first.sidecars.running;
    second.distributor.start();
    await eventually(() => expect(second.distributor.roleSidecars('team-a', 'reader').current).toBe(1));
    expect(second.sidecars.pushes).toBe(0);
    expect(second.sign).not.toHaveBeenCalled();
    await second.distributor.stop();
  });

  it('re-signs a bundle under a newer revision for a pod that moves to it from a newer one', async () => {
    const pods = [pod(1, { tier: 'a' }), pod(2, { tier: 'b' })];
    const t = setup(pods);
    t.state.resources
      .get('team-a')!
      .roles.push(role('b-only', { workloadSelector: { matchLabels: { tier: 'b' } } }));
    t.distributor.start();
    await eventually(() => expect(t.distributor.snapshot().every((s) => s.digest !== undefined)).toBe(true));
    // pod 2 moves to pod 1's group, whose bundle may be older than what pod 2 runs
    t.state.pods = [pod(1, { tier: 'a' }), { ...pod(2, { tier: 'a' }) }];
    t.distributor.invalidate();
    await eventually(() =>
      expect(allRun(t.sidecars, [pods[1]!.adminUrl], (c) => c.roles.length === 1)).toBe(true),
    );
    await t.distributor.stop();
  });

  it('outbids a sidecar that runs a revision it did not know about (409)', async () => {
    const pods = [pod(1)];
    const t = setup(pods);
    const foreign = { ...JSON.parse('{}'), revision: 5000 };
    t.sidecars.running.set(pods[0]!.adminUrl, { revision: 5000, digest: 'other', config: foreign });
    t.distributor.start();
    await eventually(() =>
      expect(allRun(t.sidecars, [pods[0]!.adminUrl], (c) => c.roles?.length === 1)).toBe(true),
    );
    expect(t.sidecars.running.get(pods[0]!.adminUrl)!.revision).toBeGreaterThan(5000);
    await t.distributor.stop();
  });

  it('retries an unreachable sidecar with backoff until it answers', async () => {
    const pods = [pod(1)];
    const t = setup(pods);
    t.sidecars.down.add(pods[0]!.adminUrl);
    t.distributor.start();
    await eventually(() => expect(t.sidecars.probes).toBeGreaterThanOrEqual(3));
    t.sidecars.down.clear();
    await eventually(() => expect(t.distributor.roleSidecars('team-a', 'reader').current).toBe(1));
    await t.distributor.stop();
  });

  it('checks a sidecar again when its container restarted', async () => {
    const pods = [pod(1)];
    const t = setup(pods);
    t.distributor.start();
    await eventually(() => expect(t.distributor.roleSidecars('team-a', 'reader').current).toBe(1));
    t.sidecars.running.clear(); // it lost its config
    t.state.pods = [{ ...pod(1), incarnation: '10.0.0.1/1' }];
    t.distributor.invalidate();
    await eventually(() => expect(t.sidecars.running.size).toBe(1));
    await t.distributor.stop();
  });
});
