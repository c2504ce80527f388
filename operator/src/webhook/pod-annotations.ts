/**
 * Reads the injection annotations of a pod into sidecar ports. Pure; every problem is collected so the
 * user fixes them all in one go (the message ends up in `kubectl apply`'s error output).
 */
import type { V1Pod } from '@kubernetes/client-node';
import {
  ADMIN_PORT_ANNOTATION,
  DEFAULT_ADMIN_PORT,
  DEFAULT_LISTEN_PORT,
  FORWARD_AUTHORIZATION_ANNOTATION,
  LISTEN_PORT_ANNOTATION,
  SIDECAR_CONTAINER_NAME,
  UPSTREAM_PORT_ANNOTATION,
} from './labels.js';

export interface SidecarPorts {
  /** The app's port on 127.0.0.1. */
  upstreamPort: number;
  /** The sidecar's public port (the Service targets it). */
  listenPort: number;
  /** The sidecar's admin port (probes, metrics, config push). */
  adminPort: number;
  forwardAuthorization: boolean;
}

export type AnnotationReading = { ports: SidecarPorts } | { problems: string[] };

const PORT_PATTERN = /^[0-9]{1,5}$/;

function readPort(
  annotations: Record<string, string>,
  key: string,
  fallback: number | undefined,
  problems: string[],
): number | undefined {
  const raw = annotations[key];
  if (raw === undefined) {
    if (fallback === undefined) problems.push(`set the annotation ${key} to the port your app listens on`);
    return fallback;
  }
  const value = PORT_PATTERN.test(raw) ? Number(raw) : NaN;
  if (!(value >= 1 && value <= 65535)) {
    problems.push(`annotation ${key} must be a port number from 1 to 65535, not ${JSON.stringify(raw)}`);
    return undefined;
  }
  return value;
}

/** Ports other containers of the pod declare; the sidecar must not take them. */
function portsOfOtherContainers(pod: V1Pod): Map<number, string> {
  const taken = new Map<number, string>();
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const container of containers) {
    if (container.name === SIDECAR_CONTAINER_NAME) continue;
    for (const port of container.ports ?? []) taken.set(port.containerPort, container.name);
  }
  return taken;
}

export function readSidecarPorts(pod: V1Pod): AnnotationReading {
  const annotations = pod.metadata?.annotations ?? {};
  const problems: string[] = [];
  const upstreamPort = readPort(annotations, UPSTREAM_PORT_ANNOTATION, undefined, problems);
  const listenPort = readPort(annotations, LISTEN_PORT_ANNOTATION, DEFAULT_LISTEN_PORT, problems);
  const adminPort = readPort(annotations, ADMIN_PORT_ANNOTATION, DEFAULT_ADMIN_PORT, problems);

  const forwardRaw = annotations[FORWARD_AUTHORIZATION_ANNOTATION];
  if (forwardRaw !== undefined && forwardRaw !== 'true' && forwardRaw !== 'false') {
    problems.push(
      `annotation ${FORWARD_AUTHORIZATION_ANNOTATION} must be "true" or "false", not ${JSON.stringify(forwardRaw)}`,
    );
  }

  if (upstreamPort !== undefined && upstreamPort === listenPort) {
    problems.push(
      `the sidecar's listen port ${listenPort} equals the app's port (${UPSTREAM_PORT_ANNOTATION}); the app must listen on another port on 127.0.0.1, or set ${LISTEN_PORT_ANNOTATION} to a free port`,
    );
  }
  if (upstreamPort !== undefined && upstreamPort === adminPort) {
    problems.push(
      `${ADMIN_PORT_ANNOTATION} ${adminPort} equals the app's port (${UPSTREAM_PORT_ANNOTATION}); choose another admin port`,
    );
  }
  if (listenPort !== undefined && listenPort === adminPort) {
    problems.push(
      `${ADMIN_PORT_ANNOTATION} and ${LISTEN_PORT_ANNOTATION} are both ${adminPort}; they must differ`,
    );
  }
  const taken = portsOfOtherContainers(pod);
  for (const [key, port] of [
    [LISTEN_PORT_ANNOTATION, listenPort],
    [ADMIN_PORT_ANNOTATION, adminPort],
  ] as const) {
    const owner = port === undefined ? undefined : taken.get(port);
    if (owner !== undefined) {
      problems.push(
        `port ${port} (${key}) is already used by container "${owner}"; set ${key} to a free port`,
      );
    }
  }

  if (
    problems.length > 0 ||
    upstreamPort === undefined ||
    listenPort === undefined ||
    adminPort === undefined
  ) {
    return { problems };
  }
  return { ports: { upstreamPort, listenPort, adminPort, forwardAuthorization: forwardRaw === 'true' } };
}
