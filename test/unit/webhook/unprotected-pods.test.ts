import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  findUnprotectedPods,
  planUnprotectedPodEvents,
} from '../../../operator/src/webhook/unprotected-pods.js';

function pod(
  name: string,
  options: {
    namespace?: string;
    labels?: Record<string, string>;
    sidecar?: 'container' | 'native';
    phase?: string;
    deleting?: boolean;
  } = {},
): V1Pod {
  const containers = [{ name: 'app', image: 'app' }];
  if (options.sidecar === 'container') containers.push({ name: 'scopegate-sidecar', image: 'sg' });
  return {
    metadata: {
      name,
      namespace: options.namespace ?? 'shop',
      uid: `uid-${name}`,
      labels: options.labels ?? {},
      ...(options.deleting ? { deletionTimestamp: new Date() } : {}),
    },
    spec: {
      containers,
      ...(options.sidecar === 'native'
        ? { initContainers: [{ name: 'scopegate-sidecar', image: 'sg', restartPolicy: 'Always' }] }
        : {}),
    },
    status: { phase: options.phase ?? 'Running' },
  };
}

const OPT_IN = { 'scopegate.io/inject': 'true' };
const EXCLUDED = ['kube-system', 'scopegate-system'];

describe('findUnprotectedPods', () => {
  const namespaces = new Map([['labelled', OPT_IN]]);

  it.each([
    ['a labelled pod without the sidecar', pod('a', { labels: OPT_IN }), true],
    ['a pod of a labelled namespace without the sidecar', pod('b', { namespace: 'labelled' }), true],
    ['a labelled pod with the sidecar', pod('c', { labels: OPT_IN, sidecar: 'container' }), false],
    ['a labelled pod with a native sidecar', pod('d', { labels: OPT_IN, sidecar: 'native' }), false],
    [
      'a pod that opted out of its labelled namespace',
      pod('e', { namespace: 'labelled', labels: { 'scopegate.io/inject': 'false' } }),
      false,
    ],
    ['a pod nobody opted in', pod('f'), false],
    ['a finished pod', pod('g', { labels: OPT_IN, phase: 'Succeeded' }), false],
    ['a failed pod', pod('h', { labels: OPT_IN, phase: 'Failed' }), false],
    ['a pod being deleted', pod('i', { labels: OPT_IN, deleting: true }), false],
    ['a pending pod (not scheduled yet)', pod('j', { labels: OPT_IN, phase: 'Pending' }), true],
  ])('%s → %s', (_name, input, expected) => {
    expect(findUnprotectedPods([input], namespaces, EXCLUDED).length === 1).toBe(expected);
  });

  it('tells the user what to do', () => {
    const [found] = findUnprotectedPods([pod('orders', { labels: OPT_IN })], namespaces, EXCLUDED);
    expect(found).toMatchObject({ namespace: 'shop', name: 'orders', uid: 'uid-orders' });
    expect(found?.message).toContain('delete the pod so that its controller recreates it with the sidecar');
  });

  it('explains opted-in pods in an excluded namespace differently', () => {
    const [found] = findUnprotectedPods(
      [pod('dns', { namespace: 'kube-system', labels: OPT_IN })],
      namespaces,
      EXCLUDED,
    );
    expect(found?.message).toContain('namespace kube-system is excluded from sidecar injection');
  });

  it('sorts by namespace and name', () => {
    const found = findUnprotectedPods(
      [pod('b', { labels: OPT_IN }), pod('a', { labels: OPT_IN }), pod('z', { namespace: 'labelled' })],
      namespaces,
      EXCLUDED,
    );
    expect(found.map((p) => `${p.namespace}/${p.name}`)).toEqual(['labelled/z', 'shop/a', 'shop/b']);
  });
});

describe('planUnprotectedPodEvents', () => {
  const found = (uid: string) => ({ namespace: 'shop', name: uid, uid, message: 'm' });
  const HOUR = 3_600_000;

  it('reports new pods, repeats after the interval and forgets pods that are gone', () => {
    const first = planUnprotectedPodEvents([found('a'), found('b')], new Map(), 0, HOUR);
    expect(first.report.map((p) => p.uid)).toEqual(['a', 'b']);
    const soon = planUnprotectedPodEvents([found('a')], first.lastReported, HOUR / 2, HOUR);
    expect(soon.report).toEqual([]);
    expect([...soon.lastReported.keys()]).toEqual(['a']);
    const later = planUnprotectedPodEvents([found('a'), found('b')], soon.lastReported, HOUR, HOUR);
    expect(later.report.map((p) => p.uid)).toEqual(['a', 'b']);
  });
});
