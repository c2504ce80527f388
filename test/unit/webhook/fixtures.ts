/** Builders shared by the webhook unit tests. */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { AdmissionReview } from '../../../operator/src/webhook/admission-review.js';
import type { JsonPatchOperation } from '../../../operator/src/webhook/json-patch.js';
import type { InjectionSettings } from '../../../operator/src/webhook/settings.js';

export const PUBLIC_KEY_PEM =
  '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexampleexampleexampleexampleexampleexample\n-----END PUBLIC KEY-----\n';

export const SETTINGS: InjectionSettings = {
  version: '0.1.0',
  image: 'ghcr.io/scopegate/scopegate:0.1.0',
  imagePullPolicy: 'IfNotPresent',
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
  operatorUrl: 'http://scopegate.scopegate-system.svc:8080',
  configPublicKeyPem: PUBLIC_KEY_PEM,
  excludedNamespaces: ['kube-system', 'scopegate-system'],
};

export function appContainer(overrides: Partial<V1Container> = {}): V1Container {
  return {
    name: 'app',
    image: 'example/orders:1.2.3',
    ports: [{ containerPort: 8080, name: 'http' }],
    ...overrides,
  };
}

export function pod(
  options: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    containers?: V1Container[];
  } = {},
): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name ?? 'orders-7d9f',
      namespace: options.namespace ?? 'shop',
      labels: options.labels ?? { app: 'orders', 'scopegate.io/inject': 'true' },
      annotations: options.annotations ?? { 'scopegate.io/upstream-port': '8080' },
    },
    spec: { containers: options.containers ?? [appContainer()] },
  };
}

export function admissionReview(
  object: unknown,
  overrides: Partial<NonNullable<AdmissionReview['request']>> = {},
) {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace: 'shop',
      operation: 'CREATE',
      object,
      ...overrides,
    },
  };
}

/** A minimal RFC 6902 applier for add/replace/remove/test, to check generated patches. */
export function applyJsonPatch<T>(
  document: T,
  patch: readonly (JsonPatchOperation | { op: 'test'; path: string; value: unknown })[],
): T {
  let root: unknown = structuredClone(document);
  for (const operation of patch) {
    const tokens =
      operation.path === ''
        ? []
        : operation.path
            .slice(1)
            .split('/')
            .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    if (tokens.length === 0) {
      if (operation.op === 'remove') throw new Error('cannot remove the root');
      if (operation.op !== 'test') root = structuredClone(operation.value);
      continue;
    }
    let parent = root as Record<string, unknown> | unknown[];
    for (const token of tokens.slice(0, -1)) {
      parent = (parent as Record<string, unknown>)[token] as Record<string, unknown>;
      if (parent === undefined) throw new Error(`path ${operation.path} does not exist`);
    }
    const last = tokens[tokens.length - 1] as string;
    if (Array.isArray(parent)) {
      const index = last === '-' ? parent.length : Number(last);
      if (operation.op === 'add') parent.splice(index, 0, structuredClone(operation.value));
      else if (operation.op === 'replace') parent[index] = structuredClone(operation.value);
      else if (operation.op === 'remove') parent.splice(index, 1);
      else if (JSON.stringify(parent[index]) !== JSON.stringify(operation.value))
        throw new Error(`test failed at ${operation.path}`);
    } else {
      if (operation.op === 'add' || operation.op === 'replace')
        parent[last] = structuredClone(operation.value);
      else if (operation.op === 'remove') delete parent[last];
      else if (JSON.stringify(parent[last]) !== JSON.stringify(operation.value))
        throw new Error(`test failed at ${operation.path}`);
    }
  }
  return root as T;
}
