/**
 * Sidecar injection as a pure function: (pod, namespace labels, settings) → the pod to admit.
 * Idempotent: the sidecar container, its volume and the marks are upserted by name, so admitting an
 * injected pod again (reinvocation, or a pod recreated from an injected spec) yields the same pod.
 */
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import {
  ADMIN_PORT_NAME,
  CONFIG_DIR,
  CONFIG_PUBLIC_KEY_ANNOTATION,
  CONFIG_PUBLIC_KEY_DIR,
  CONFIG_PUBLIC_KEY_FILE,
  CONFIG_PUBLIC_KEY_VOLUME_NAME,
  CONFIG_VOLUME_NAME,
  INJECT_LABEL,
  INJECTED_ANNOTATION,
  INJECTED_LABEL,
  LISTEN_PORT_NAME,
  SIDECAR_CONTAINER_NAME,
  SIDECAR_USER_ID,
} from './labels.js';
import { readSidecarPorts, type SidecarPorts } from './pod-annotations.js';
import type { InjectionSettings } from './settings.js';

export interface InjectionError {
  code: 'ERR_INJECT_INVALID_ANNOTATIONS' | 'ERR_INJECT_HOST_NETWORK';
  message: string;
}

export type InjectionResult =
  /** `pod` is the input when `skipped` says why nothing was done. */
  { pod: V1Pod; skipped?: string } | { error: InjectionError };

/**
 * Whether a pod asked for the sidecar. `namespaceLabels` undefined means "unknown": the webhook only
 * receives pods its selectors matched, so there the call itself is the namespace's opt-in.
 */
export function isOptedIn(
  podLabels: Record<string, string> | undefined,
  namespaceLabels?: Record<string, string>,
) {
  const podChoice = podLabels?.[INJECT_LABEL];
  if (podChoice === 'false') return false;
  if (podChoice === 'true') return true;
  return namespaceLabels === undefined || namespaceLabels[INJECT_LABEL] === 'true';
}

export function injectSidecar(
  pod: V1Pod,
  namespaceLabels: Record<string, string> | undefined,
  settings: InjectionSettings,
  namespace = pod.metadata?.namespace,
): InjectionResult {
  if (!isOptedIn(pod.metadata?.labels, namespaceLabels)) {
    return {
      pod,
      skipped: `the pod is not opted in (label ${INJECT_LABEL}="true" on the pod or its namespace)`,
    };
  }
  if (namespace !== undefined && settings.excludedNamespaces.includes(namespace)) {
    return { pod, skipped: `namespace ${namespace} is excluded from injection` };
  }
  const name = describePod(pod, namespace);
  if (pod.spec?.hostNetwork === true) {
    return {
      error: {
        code: 'ERR_INJECT_HOST_NETWORK',
        message: `scopegate cannot protect ${name}: it uses hostNetwork, so its app port on 127.0.0.1 would be open to the whole node. Remove hostNetwork or the ${INJECT_LABEL} label.`,
      },
    };
  }
  const reading = readSidecarPorts(pod);
  if ('problems' in reading) {
    return {
      error: {
        code: 'ERR_INJECT_INVALID_ANNOTATIONS',
        message: `scopegate cannot inject its sidecar into ${name}: ${reading.problems.join('; ')}.`,
      },
    };
  }

  const injected = structuredClone(pod);
  const metadata = (injected.metadata ??= {});
  metadata.annotations = {
    ...metadata.annotations,
    [INJECTED_ANNOTATION]: settings.version,
    [CONFIG_PUBLIC_KEY_ANNOTATION]: settings.configPublicKeyPem,
  };
  metadata.labels = { ...metadata.labels, [INJECTED_LABEL]: 'true' };
  const spec = (injected.spec ??= { containers: [] });
  spec.containers = upsertByName(spec.containers ?? [], sidecarContainer(reading.ports, settings));
  spec.volumes = upsertByName(upsertByName(spec.volumes ?? [], configVolume()), publicKeyVolume());
  return { pod: injected };
}

/**
 * Replaces the item with the same name in place (keeping its position), or appends it. An existing
 * item that already has every field we set is kept as is: the API server adds defaults
 * (terminationMessagePath, probe thresholds, ...) after admission, and a pod recreated from an
 * injected spec carries them.
 */
function upsertByName<T extends { name: string }>(items: T[], item: T): T[] {
  const index = items.findIndex((existing) => existing.name === item.name);
  if (index === -1) return [...items, item];
  if (covers(items[index], item)) return items;
  return items.map((existing, i) => (i === index ? item : existing));
}

/** Whether `actual` has every value of `wanted` (objects may carry more keys; arrays must match in length). */
export function covers(actual: unknown, wanted: unknown): boolean {
  if (Array.isArray(wanted)) {
    return (
      Array.isArray(actual) && actual.length === wanted.length && wanted.every((w, i) => covers(actual[i], w))
    );
  }
  if (wanted !== null && typeof wanted === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const record = actual as Record<string, unknown>;
    return Object.entries(wanted).every(([key, value]) => covers(record[key], value));
  }
  return Object.is(actual, wanted);
}

function describePod(pod: V1Pod, namespace: string | undefined): string {
  const name =
    pod.metadata?.name ?? (pod.metadata?.generateName ? `${pod.metadata.generateName}*` : '(unnamed)');
  return `pod ${namespace === undefined ? '' : `${namespace}/`}${name}`;
}

/** Whether to forward the Authorization header is not an argument: the operator puts it in the pod's config bundle. */
export function sidecarArgs(ports: SidecarPorts, settings: InjectionSettings): string[] {
  return [
    'sidecar',
    '--config-public-key',
    `${CONFIG_PUBLIC_KEY_DIR}/${CONFIG_PUBLIC_KEY_FILE}`,
    '--config-dir',
    CONFIG_DIR,
    '--upstream',
    `http://127.0.0.1:${ports.upstreamPort}`,
    '--listen',
    `0.0.0.0:${ports.listenPort}`,
    '--admin',
    `0.0.0.0:${ports.adminPort}`,
    '--operator-url',
    settings.operatorUrl,
  ];
}

export function sidecarContainer(ports: SidecarPorts, settings: InjectionSettings): V1Container {
  const resources: V1Container['resources'] = {};
  if (settings.resources.requests !== undefined) resources.requests = { ...settings.resources.requests };
  if (settings.resources.limits !== undefined) resources.limits = { ...settings.resources.limits };
  return {
    name: SIDECAR_CONTAINER_NAME,
    image: settings.image,
    imagePullPolicy: settings.imagePullPolicy,
    args: sidecarArgs(ports, settings),
    ports: [
      { name: LISTEN_PORT_NAME, containerPort: ports.listenPort, protocol: 'TCP' },
      { name: ADMIN_PORT_NAME, containerPort: ports.adminPort, protocol: 'TCP' },
    ],
    livenessProbe: {
      httpGet: { path: '/healthz', port: ports.adminPort, scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 2,
      failureThreshold: 3,
    },
    readinessProbe: {
      httpGet: { path: '/readyz', port: ports.adminPort, scheme: 'HTTP' },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 2,
    },
    resources,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: SIDECAR_USER_ID,
      runAsGroup: SIDECAR_USER_ID,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: CONFIG_VOLUME_NAME, mountPath: CONFIG_DIR },
      { name: CONFIG_PUBLIC_KEY_VOLUME_NAME, mountPath: CONFIG_PUBLIC_KEY_DIR, readOnly: true },
    ],
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/** On disk, not memory: the last good config bundle must survive a sidecar container restart. */
function configVolume(): V1Volume {
  return { name: CONFIG_VOLUME_NAME, emptyDir: { sizeLimit: '16Mi' } };
}

/**
 * The public key as a file, projected from the pod's own annotation. The sidecar reads it once at
 * start; whoever could edit the annotation could edit the sidecar's image too, so this trusts no one new.
 */
function publicKeyVolume(): V1Volume {
  return {
    name: CONFIG_PUBLIC_KEY_VOLUME_NAME,
    downwardAPI: {
      items: [
        {
          path: CONFIG_PUBLIC_KEY_FILE,
          fieldRef: { fieldPath: `metadata.annotations['${CONFIG_PUBLIC_KEY_ANNOTATION}']` },
        },
      ],
    },
  };
}

/** What the operator needs to reach an injected sidecar; undefined for pods without one. */
export function findInjectedSidecar(
  pod: V1Pod,
): { adminPort: number; listenPort: number; version?: string } | undefined {
  const container = pod.spec?.containers?.find((c) => c.name === SIDECAR_CONTAINER_NAME);
  const adminPort = container?.ports?.find((p) => p.name === ADMIN_PORT_NAME)?.containerPort;
  const listenPort = container?.ports?.find((p) => p.name === LISTEN_PORT_NAME)?.containerPort;
  if (adminPort === undefined || listenPort === undefined) return undefined;
  const version = pod.metadata?.annotations?.[INJECTED_ANNOTATION];
  return version === undefined ? { adminPort, listenPort } : { adminPort, listenPort, version };
}
