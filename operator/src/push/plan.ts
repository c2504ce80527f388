/**
 * Push planning, purely: given what each pod should run and what each sidecar last told us it runs,
 * which sidecars to ask (probe), which to send their bundle (push), and which bundles need a fresh
 * revision first. "In sync" means the same config digest; revisions only order bundles, and a
 * sidecar accepts only a revision newer than its own, so a pod that moves to another bundle whose
 * revision is not newer than what it runs gets that bundle re-signed under a new revision.
 */

/** What a sidecar runs, as it reported or as we pushed; digest undefined = no config at all. */
export interface PodAck {
  revision: number;
  digest: string | undefined;
}

export interface PodSync {
  /** undefined = unknown (new pod, restarted sidecar, failed push): ask it. */
  ack: PodAck | undefined;
  /** When the sidecar last confirmed `ack` (ms). */
  verifiedAt: number;
  /** A request to it is queued or in flight. */
  busy: boolean;
  /** Consecutive failures; drives the backoff. */
  failures: number;
  /** Not before this time (ms); 0 = now. */
  retryAt: number;
}

export interface DesiredPod {
  uid: string;
  groupKey: string;
}

export interface BundleRef {
  digest: string;
  /** 0 = not signed yet. */
  revision: number;
}

export type PushAction = { kind: 'probe' | 'push'; uid: string };

export interface PushPlan {
  actions: PushAction[];
  /** Group keys whose bundle must be (re-)signed under a new revision before it can be pushed. */
  needRevision: string[];
  inSync: number;
  outOfSync: number;
  /** The earliest time something becomes due (retry or anti-entropy), if any. */
  nextWakeAt: number | undefined;
}

export const newPodSync = (): PodSync => ({
  ack: undefined,
  verifiedAt: 0,
  busy: false,
  failures: 0,
  retryAt: 0,
});

export function planPushes(
  desired: readonly DesiredPod[],
  bundles: ReadonlyMap<string, BundleRef>,
  sync: ReadonlyMap<string, PodSync>,
  now: number,
  antiEntropyMs: number,
): PushPlan {
  const actions: PushAction[] = [];
  const needRevision = new Set<string>();
  let inSync = 0;
  let nextWakeAt: number | undefined;
  const wakeAt = (t: number) => {
    nextWakeAt = nextWakeAt === undefined ? t : Math.min(nextWakeAt, t);
  };
  for (const pod of desired) {
    const bundle = bundles.get(pod.groupKey);
    if (bundle === undefined) continue;
    const state = sync.get(pod.uid) ?? newPodSync();
    const current = state.ack !== undefined && state.ack.digest === bundle.digest;
    if (current) inSync += 1;
    if (state.busy) continue;
    if (state.retryAt > now) {
      wakeAt(state.retryAt);
      continue;
    }
    if (state.ack === undefined) {
      actions.push({ kind: 'probe', uid: pod.uid });
    } else if (!current) {
      if (bundle.revision > state.ack.revision) actions.push({ kind: 'push', uid: pod.uid });
      else needRevision.add(pod.groupKey);
    } else if (now - state.verifiedAt >= antiEntropyMs) {
      actions.push({ kind: 'probe', uid: pod.uid });
    } else {
      wakeAt(state.verifiedAt + antiEntropyMs);
    }
  }
  const total = desired.filter((p) => bundles.has(p.groupKey)).length;
  return { actions, needRevision: [...needRevision], inSync, outOfSync: total - inSync, nextWakeAt };
}
