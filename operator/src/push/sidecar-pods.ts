/**
 * Which pods run a scopegate sidecar, and where its admin API is. The pod informer keeps only the
 * slim `PodSummary` below (a cluster's pods, whole, would dominate the operator's memory).
 */
import {
  ADMIN_PORT_ANNOTATION,
  ADMIN_PORT_NAME,
  DEFAULT_ADMIN_PORT,
  FORWARD_AUTHORIZATION_ANNOTATION,
  INJECTED_LABEL,
  SIDECAR_CONTAINER_NAME,
} from '../webhook/labels.js';

/** The informer's label selector: injected pods carry this label. */
export const SIDECAR_POD_SELECTOR = `${INJECTED_LABEL}=true`;

export type SidecarContainerState = 'running' | 'waiting' | 'terminated' | 'unreported';

export interface PodSummary {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    resourceVersion?: string;
    labels: Record<string, string>;
    deleting: boolean;
  };
  podIP?: string;
  phase?: string;
  /** The sidecar container's admin port, or undefined when the pod has no sidecar container. */
  adminPort?: number;
  forwardAuthorization: boolean;
  sidecarState: SidecarContainerState;
  /** Changes when the sidecar container restarts, so its config is checked again. */
  sidecarIncarnation: string;
}

interface RawContainer {
  name?: string;
  restartPolicy?: string;
  ports?: { name?: string; containerPort?: number }[];
}
interface RawStatus {
  name?: string;
  restartCount?: number;
  containerID?: string;
  state?: { running?: unknown; waiting?: unknown; terminated?: unknown };
}
interface RawPod {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec?: { containers?: RawContainer[]; initContainers?: RawContainer[] };
  status?: {
    podIP?: string;
    phase?: string;
    containerStatuses?: RawStatus[];
    initContainerStatuses?: RawStatus[];
  };
}

function adminPortOf(container: RawContainer, annotations: Record<string, string>): number {
  const named = container.ports?.find((p) => p.name === ADMIN_PORT_NAME)?.containerPort;
  if (named !== undefined) return named;
  const annotated = Number(annotations[ADMIN_PORT_ANNOTATION]);
  return Number.isInteger(annotated) && annotated >= 1 && annotated <= 65535 ? annotated : DEFAULT_ADMIN_PORT;
}

/** Pure projection of a Pod from the API to what the operator needs. */
export function summarisePod(raw: Record<string, unknown>): PodSummary {
  const pod = raw as RawPod;
  const meta = pod.metadata ?? {};
  const annotations = meta.annotations ?? {};
  // A native sidecar is an init container with restartPolicy Always; a classic one is a container.
  const container =
    pod.spec?.containers?.find((c) => c.name === SIDECAR_CONTAINER_NAME) ??
    pod.spec?.initContainers?.find((c) => c.name === SIDECAR_CONTAINER_NAME && c.restartPolicy === 'Always');
  const status = [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ].find((s) => s.name === SIDECAR_CONTAINER_NAME);
  const sidecarState: SidecarContainerState = status?.state?.running
    ? 'running'
    : status?.state?.terminated
      ? 'terminated'
      : status?.state?.waiting
        ? 'waiting'
        : 'unreported';
  return {
    metadata: {
      name: meta.name ?? '',
      namespace: meta.namespace ?? '',
      uid: meta.uid ?? '',
      ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}),
      labels: meta.labels ?? {},
      deleting: meta.deletionTimestamp !== undefined,
    },
    ...(pod.status?.podIP ? { podIP: pod.status.podIP } : {}),
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    ...(container ? { adminPort: adminPortOf(container, annotations) } : {}),
    forwardAuthorization: annotations[FORWARD_AUTHORIZATION_ANNOTATION] === 'true',
    sidecarState,
    sidecarIncarnation: `${status?.restartCount ?? 0}/${status?.containerID ?? ''}`,
  };
}

export interface SidecarEndpoint {
  uid: string;
  namespace: string;
  name: string;
  /** `http://<podIP>:<adminPort>` */
  adminUrl: string;
  labels: Record<string, string>;
  forwardAuthorization: boolean;
  incarnation: string;
}

/**
 * The sidecar to push to, or why there is none. A sidecar without config is not ready, so pod
 * readiness is not required: a pod IP and a sidecar container that is not known to be down suffice.
 */
export function sidecarEndpoint(pod: PodSummary): SidecarEndpoint | { skip: string } {
  if (pod.adminPort === undefined) return { skip: `no ${SIDECAR_CONTAINER_NAME} container` };
  if (pod.metadata.deleting) return { skip: 'being deleted' };
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return { skip: `phase ${pod.phase}` };
  if (!pod.podIP) return { skip: 'no pod IP yet' };
  if (pod.sidecarState === 'waiting' || pod.sidecarState === 'terminated')
    return { skip: `sidecar ${pod.sidecarState}` };
  const host = pod.podIP.includes(':') ? `[${pod.podIP}]` : pod.podIP;
  return {
    uid: pod.metadata.uid,
    namespace: pod.metadata.namespace,
    name: pod.metadata.name,
    adminUrl: `http://${host}:${pod.adminPort}`,
    labels: pod.metadata.labels,
    forwardAuthorization: pod.forwardAuthorization,
    incarnation: `${pod.podIP}/${pod.sidecarIncarnation}`,
  };
}
