/**
 * Kubernetes-style conditions, computed purely. `lastTransitionTime` moves only when the status
 * flips, so a condition that keeps its status keeps its timestamp (and the status write is skipped).
 */
import type { Condition } from '../../crds/src/index.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface DesiredCondition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Returns a new list with `desired` set, keeping the other conditions and the order of types. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  desired: DesiredCondition,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = conditions ? [...conditions] : [];
  const index = list.findIndex((c) => c.type === desired.type);
  const previous = index >= 0 ? list[index] : undefined;
  const next: Condition = {
    type: desired.type,
    status: desired.status,
    reason: desired.reason,
    message: desired.message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime:
      previous !== undefined && previous.status === desired.status
        ? previous.lastTransitionTime
        : formatTime(now),
  };
  if (index >= 0) list[index] = next;
  else list.push(next);
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** RFC 3339 with second precision, as metav1.Time serialises. */
export function formatTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
