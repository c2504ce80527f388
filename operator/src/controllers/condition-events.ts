/** Pure: which condition changes deserve a Kubernetes Event (a condition turning False, or a new reason for False). */
import type { Condition } from '../../../crds/src/index.js';

export interface ConditionEvent {
  type: 'Warning' | 'Normal';
  reason: string;
  note: string;
}

export function conditionEvents(
  before: readonly Condition[] | undefined,
  after: readonly Condition[],
): ConditionEvent[] {
  const events: ConditionEvent[] = [];
  for (const condition of after) {
    const previous = before?.find((c) => c.type === condition.type);
    if (
      condition.status === 'False' &&
      (previous?.status !== 'False' || previous.reason !== condition.reason)
    ) {
      events.push({
        type: 'Warning',
        reason: condition.reason,
        note: `${condition.type}: ${condition.message}`,
      });
    } else if (condition.status === 'True' && previous?.status === 'False') {
      events.push({
        type: 'Normal',
        reason: condition.reason,
        note: `${condition.type}: ${condition.message}`,
      });
    }
  }
  return events;
}
