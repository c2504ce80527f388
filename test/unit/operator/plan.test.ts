import { describe, expect, it } from 'vitest';
import { newPodSync, planPushes, type PodSync } from '../../../operator/src/push/plan.js';
import { planReservation } from '../../../operator/src/bundles/revision-allocator.js';

const NOW = 100_000;
const AE = 60_000;
const bundles = new Map([
  ['g1', { digest: 'd1', revision: 10 }],
  ['g2', { digest: 'd2', revision: 5 }],
  ['g3', { digest: 'd3', revision: 0 }],
]);
const st = (over: Partial<PodSync>): PodSync => ({ ...newPodSync(), verifiedAt: NOW - 1000, ...over });

describe('planPushes', () => {
  it.each([
    ['unknown sidecar → ask it', 'g1', undefined, { actions: ['probe'], needRevision: [], inSync: 0 }],
    [
      'runs an older bundle → push',
      'g1',
      st({ ack: { revision: 7, digest: 'old' } }),
      { actions: ['push'], needRevision: [], inSync: 0 },
    ],
    [
      'runs no config → push',
      'g1',
      st({ ack: { revision: 0, digest: undefined } }),
      { actions: ['push'], needRevision: [], inSync: 0 },
    ],
    [
      'in sync and recently verified → nothing',
      'g1',
      st({ ack: { revision: 10, digest: 'd1' } }),
      { actions: [], needRevision: [], inSync: 1 },
    ],
    [
      'in sync by digest under another revision → nothing',
      'g1',
      st({ ack: { revision: 3, digest: 'd1' } }),
      { actions: [], needRevision: [], inSync: 1 },
    ],
    [
      'in sync but not verified for a while → ask again',
      'g1',
      st({ ack: { revision: 10, digest: 'd1' }, verifiedAt: NOW - AE }),
      { actions: ['probe'], needRevision: [], inSync: 1 },
    ],
    [
      'moved to a bundle with an older revision → re-sign it',
      'g2',
      st({ ack: { revision: 10, digest: 'd1' } }),
      { actions: [], needRevision: ['g2'], inSync: 0 },
    ],
    [
      'bundle not signed yet → sign it',
      'g3',
      st({ ack: { revision: 0, digest: undefined } }),
      { actions: [], needRevision: ['g3'], inSync: 0 },
    ],
    [
      'request in flight → wait',
      'g1',
      st({ ack: { revision: 7, digest: 'old' }, busy: true }),
      { actions: [], needRevision: [], inSync: 0 },
    ],
    [
      'backing off → wait',
      'g1',
      st({ ack: { revision: 7, digest: 'old' }, retryAt: NOW + 5 }),
      { actions: [], needRevision: [], inSync: 0 },
    ],
  ])('%s', (_name, groupKey, state, expected) => {
    const sync = new Map(state ? [['p', state]] : []);
    const plan = planPushes([{ uid: 'p', groupKey }], bundles, sync, NOW, AE);
    expect({
      actions: plan.actions.map((a) => a.kind),
      needRevision: plan.needRevision,
      inSync: plan.inSync,
    }).toEqual(expected);
    expect(plan.inSync + plan.outOfSync).toBe(1);
  });

  it('wakes up for the earliest retry or anti-entropy check', () => {
    const sync = new Map([
      ['a', st({ ack: { revision: 10, digest: 'd1' }, verifiedAt: NOW - 1000 })],
      ['b', st({ ack: { revision: 1, digest: 'x' }, retryAt: NOW + 500 })],
    ]);
    const plan = planPushes(
      [
        { uid: 'a', groupKey: 'g1' },
        { uid: 'b', groupKey: 'g1' },
      ],
      bundles,
      sync,
      NOW,
      AE,
    );
    expect(plan.nextWakeAt).toBe(NOW + 500);
  });

  it('asks for a new revision once per bundle however many pods need it', () => {
    const sync = new Map([
      ['a', st({ ack: { revision: 10, digest: 'd1' } })],
      ['b', st({ ack: { revision: 12, digest: 'zz' } })],
    ]);
    const plan = planPushes(
      [
        { uid: 'a', groupKey: 'g2' },
        { uid: 'b', groupKey: 'g2' },
      ],
      bundles,
      sync,
      NOW,
      AE,
    );
    expect(plan.needRevision).toEqual(['g2']);
  });
});

describe('planReservation', () => {
  it.each([
    [0, 0, 1000, { first: 1, last: 1000 }],
    [1000, 0, 1000, { first: 1001, last: 2000 }],
    [1000, 1500, 1000, { first: 1501, last: 2500 }],
    [3000, 1500, 10, { first: 3001, last: 3010 }],
  ])('stored %i, highest seen %i → above both', (stored, seen, block, expected) => {
    expect(planReservation(stored, seen, block)).toEqual(expected);
  });
});
