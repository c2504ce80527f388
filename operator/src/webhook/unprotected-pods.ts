/**
 * Opted-in pods that run without the sidecar: created while the webhook was down or before the opt-in,
 * or in a namespace injection never touches. Their API is unprotected, so we say so. Pure.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { isOptedIn } from './inject.js';
import { INJECT_LABEL, SIDECAR_CONTAINER_NAME } from './labels.js';

export interface UnprotectedPod {
  namespace: string;
  name: string;
  uid: string;
  /** A sentence for the Warning Event: what is wrong and what to do. */
  message: string;
}

function hasSidecar(pod: V1Pod): boolean {
  return (
    (pod.spec?.containers ?? []).some((c) => c.name === SIDECAR_CONTAINER_NAME) ||
    // A native sidecar (an init container that keeps running) counts too.
    (pod.spec?.initContainers ?? []).some(
      (c) => c.name === SIDECAR_CONTAINER_NAME && c.restartPolicy === 'Always',
    )
  );
}

function isFinished(pod: V1Pod): boolean {
  return (
    pod.metadata?.deletionTimestamp !== undefined ||
    pod.status?.phase === 'Succeeded' ||
    pod.status?.phase === 'Failed'
  );
}

/** `namespaceLabels` maps a namespace to its labels; a namespace missing from it has none. */
export function findUnprotectedPods(
  pods: readonly V1Pod[],
  namespaceLabels: ReadonlyMap<string, Record<string, string>>,
  excludedNamespaces: readonly string[],
): UnprotectedPod[] {
  const found: UnprotectedPod[] = [];
  for (const pod of pods) {
    const namespace = pod.metadata?.namespace ?? '';
    if (isFinished(pod) || hasSidecar(pod)) continue;
    if (!isOptedIn(pod.metadata?.labels, namespaceLabels.get(namespace) ?? {})) continue;
    const message = excludedNamespaces.includes(namespace)
      ? `Pod is opted in to scopegate (${INJECT_LABEL}) but namespace ${namespace} is excluded from sidecar injection, so its API is not protected. Move the workload to another namespace.`
      : `Pod is opted in to scopegate (${INJECT_LABEL}) but runs without the ${SIDECAR_CONTAINER_NAME} container, so its API is not protected. It was created while the injection webhook was unavailable or before the opt-in; delete the pod so that its controller recreates it with the sidecar.`;
    found.push({ namespace, name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '', message });
  }
  return found.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/**
 * Which of the found pods get an Event now: new ones, and old ones once `repeatAfterMs` has passed.
 * Pure; returns the updated memory of when each pod was last reported (pods no longer found are forgotten).
 */
export function planUnprotectedPodEvents(
  found: readonly UnprotectedPod[],
  lastReported: ReadonlyMap<string, number>,
  nowMs: number,
  repeatAfterMs: number,
): { report: UnprotectedPod[]; lastReported: Map<string, number> } {
  const report: UnprotectedPod[] = [];
  const next = new Map<string, number>();
  for (const pod of found) {
    const last = lastReported.get(pod.uid);
    if (last === undefined || nowMs - last >= repeatAfterMs) {
      report.push(pod);
      next.set(pod.uid, nowMs);
    } else {
      next.set(pod.uid, last);
    }
  }
  return { report, lastReported: next };
}
