import { describe, expect, it } from 'vitest';
import { decideLease, type Observation } from '../../../operator/src/kube/leader-election.js';

const ME = 'op-a';
const D = 10_000;
const other = { holderIdentity: 'op-b', renewTime: 't1', leaseDurationSeconds: 10, leaseTransitions: 1 };

describe('decideLease', () => {
  it('creates a missing lease', () => {
    expect(
      decideLease({ lease: undefined, identity: ME, now: 0, observed: undefined, leaseDurationMs: D })
        .decision,
    ).toEqual({ action: 'create' });
  });

  it('renews its own lease', () => {
    expect(
      decideLease({
        lease: { ...other, holderIdentity: ME },
        identity: ME,
        now: 0,
        observed: undefined,
        leaseDurationMs: D,
      }).decision.action,
    ).toBe('renew');
  });

  it('takes a released lease at once', () => {
    expect(
      decideLease({
        lease: { ...other, holderIdentity: null },
        identity: ME,
        now: 0,
        observed: undefined,
        leaseDurationMs: D,
      }).decision.action,
    ).toBe('acquire');
  });

  it('waits while the holder keeps renewing, judging by its own clock only', () => {
    const observed: Observation | undefined = undefined;
    let r = decideLease({ lease: other, identity: ME, now: 1000, observed, leaseDurationMs: D });
    expect(r.decision).toEqual({ action: 'wait', holder: 'op-b', expiresAt: 11_000 });
    const seen = r.observed;
    // The holder renewed (record changed): the clock starts again.
    r = decideLease({
      lease: { ...other, renewTime: 't2' },
      identity: ME,
      now: 10_500,
      observed: seen,
      leaseDurationMs: D,
    });
    expect(r.decision).toEqual({ action: 'wait', holder: 'op-b', expiresAt: 20_500 });
  });

  it('takes over a lease nobody renewed for a whole lease duration', () => {
    const first = decideLease({
      lease: other,
      identity: ME,
      now: 1000,
      observed: undefined,
      leaseDurationMs: D,
    });
    expect(
      decideLease({ lease: other, identity: ME, now: 10_999, observed: first.observed, leaseDurationMs: D })
        .decision.action,
    ).toBe('wait');
    expect(
      decideLease({ lease: other, identity: ME, now: 11_000, observed: first.observed, leaseDurationMs: D })
        .decision.action,
    ).toBe('acquire');
  });
});
