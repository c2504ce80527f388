import { describe, expect, it } from 'vitest';
import { setCondition } from '../../../operator/src/conditions.js';
import { conditionEvents } from '../../../operator/src/controllers/condition-events.js';

const t0 = new Date('2025-01-01T00:00:00.000Z');
const t1 = new Date('2025-01-01T01:00:00.000Z');

describe('setCondition', () => {
  it('adds a condition with observedGeneration and a transition time', () => {
    const list = setCondition(
      undefined,
      { type: 'Ready', status: 'True', reason: 'Ready', message: 'ok' },
      3,
      t0,
    );
    expect(list).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'Ready',
        message: 'ok',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T00:00:00Z',
      },
    ]);
  });

  it('keeps lastTransitionTime when the status does not change, even if reason and message do', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'A', message: 'a' },
      1,
      t0,
    );
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, 2, t1);
    expect(second[0]).toMatchObject({
      reason: 'B',
      observedGeneration: 2,
      lastTransitionTime: '2025-01-01T00:00:00Z',
    });
  });

  it('moves lastTransitionTime when the status flips and leaves other types alone', () => {
    let list = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, 1, t0);
    list = setCondition(
      list,
      { type: 'KeysFetched', status: 'True', reason: 'Fetched', message: 'k' },
      1,
      t0,
    );
    list = setCondition(list, { type: 'Ready', status: 'True', reason: 'Ready', message: 'r' }, 1, t1);
    expect(list.map((c) => [c.type, c.lastTransitionTime])).toEqual([
      ['Ready', '2025-01-01T01:00:00Z'],
      ['KeysFetched', '2025-01-01T00:00:00Z'],
    ]);
  });

  it('does not mutate its input', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'A', message: 'a' },
      1,
      t0,
    );
    const copy = structuredClone(first);
    setCondition(first, { type: 'Ready', status: 'True', reason: 'B', message: 'b' }, 2, t1);
    expect(first).toEqual(copy);
  });
});

describe('conditionEvents', () => {
  const c = (status: 'True' | 'False', reason: string) => ({
    type: 'Ready',
    status,
    reason,
    message: 'm',
    lastTransitionTime: 'x',
  });
  it.each([
    ['no previous, False', undefined, [c('False', 'X')], ['Warning:X']],
    ['no previous, True', undefined, [c('True', 'Ready')], []],
    ['True → False', [c('True', 'Ready')], [c('False', 'X')], ['Warning:X']],
    ['False → False, same reason', [c('False', 'X')], [c('False', 'X')], []],
    ['False → False, new reason', [c('False', 'X')], [c('False', 'Y')], ['Warning:Y']],
    ['False → True', [c('False', 'X')], [c('True', 'Ready')], ['Normal:Ready']],
  ] as const)('%s', (_name, before, after, expected) => {
    expect(conditionEvents(before as never, after as never).map((e) => `${e.type}:${e.reason}`)).toEqual(
      expected,
    );
  });
});
