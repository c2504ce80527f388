/**
 * Kubernetes Events (events.k8s.io/v1) for things people should notice on `kubectl describe`.
 * Best effort: an event that cannot be written is logged, never retried, never fatal.
 */
import type { KubeClient } from './client.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventRecorder {
  warning(target: EventTarget, reason: string, note: string, action: string): void;
  normal(target: EventTarget, reason: string, note: string, action: string): void;
}

export function createEventRecorder(
  client: KubeClient,
  reporter: { controller: string; instance: string },
  onError: (error: unknown) => void,
  now: () => Date = () => new Date(),
): EventRecorder {
  const emit = (
    type: 'Normal' | 'Warning',
    target: EventTarget,
    reason: string,
    note: string,
    action: string,
  ) => {
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { generateName: `${target.name}-`, namespace: target.namespace },
      eventTime: now().toISOString().replace('Z', '000Z'),
      reportingController: reporter.controller,
      reportingInstance: reporter.instance.slice(0, 128),
      action,
      reason,
      type,
      note: note.slice(0, 1024),
      regarding: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        namespace: target.namespace,
        name: target.name,
        ...(target.uid ? { uid: target.uid } : {}),
        ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
      },
    };
    client
      .request('POST', `/apis/events.k8s.io/v1/namespaces/${target.namespace}/events`, { body })
      .catch(onError);
  };
  return {
    warning: (t, r, n, a) => emit('Warning', t, r, n, a),
    normal: (t, r, n, a) => emit('Normal', t, r, n, a),
  };
}
