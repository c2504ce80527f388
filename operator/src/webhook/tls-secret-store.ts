/**
 * Where self-managed webhook TLS material lives: one Secret in the operator's namespace (the chart
 * creates it empty so `helm uninstall` removes it). Writes carry the resourceVersion read, so two
 * replicas that both think they lead cannot overwrite each other's certificates.
 */
import { isNotFound, MERGE_PATCH, type KubeClient } from '../kube/client.js';
import type { WebhookTlsMaterial } from './certificates.js';

/** Secret keys; `tls.crt`/`tls.key`/`ca.crt` follow the kubernetes.io/tls convention. */
export const TLS_SECRET_KEYS = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  servingCert: 'tls.crt',
  servingKey: 'tls.key',
  caBundle: 'ca-bundle.crt',
} as const;

export interface StoredTlsMaterial {
  /** Undefined when the Secret is absent, or present but not (completely) filled in. */
  material: WebhookTlsMaterial | undefined;
  /** Undefined when the Secret does not exist. */
  resourceVersion: string | undefined;
}

export interface TlsSecretStore {
  read(): Promise<StoredTlsMaterial>;
  /** Creates the Secret (resourceVersion undefined) or updates it; a concurrent change fails with 409. */
  write(material: WebhookTlsMaterial, resourceVersion: string | undefined): Promise<void>;
}

interface Secret {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
const encode = (value: string) => Buffer.from(value, 'utf8').toString('base64');

export function materialFromSecretData(
  data: Record<string, string> | undefined,
): WebhookTlsMaterial | undefined {
  const get = (key: string) => decode(data?.[key]);
  const [caCert, caKey, servingCert, servingKey, caBundle] = [
    get(TLS_SECRET_KEYS.caCert),
    get(TLS_SECRET_KEYS.caKey),
    get(TLS_SECRET_KEYS.servingCert),
    get(TLS_SECRET_KEYS.servingKey),
    get(TLS_SECRET_KEYS.caBundle),
  ];
  if (!caCert || !caKey || !servingCert || !servingKey || !caBundle) return undefined;
  return {
    ca: { certPem: caCert, keyPem: caKey },
    serving: { certPem: servingCert, keyPem: servingKey },
    caBundle,
  };
}

export function secretDataFromMaterial(material: WebhookTlsMaterial): Record<string, string> {
  return {
    [TLS_SECRET_KEYS.caCert]: encode(material.ca.certPem),
    [TLS_SECRET_KEYS.caKey]: encode(material.ca.keyPem),
    [TLS_SECRET_KEYS.servingCert]: encode(material.serving.certPem),
    [TLS_SECRET_KEYS.servingKey]: encode(material.serving.keyPem),
    [TLS_SECRET_KEYS.caBundle]: encode(material.caBundle),
  };
}

export function createTlsSecretStore(
  kube: KubeClient,
  ref: { namespace: string; name: string },
): TlsSecretStore {
  const collection = `/api/v1/namespaces/${encodeURIComponent(ref.namespace)}/secrets`;
  const path = `${collection}/${encodeURIComponent(ref.name)}`;
  return {
    async read() {
      try {
        const secret = await kube.request<Secret>('GET', path);
        return {
          material: materialFromSecretData(secret.data),
          resourceVersion: secret.metadata?.resourceVersion,
        };
      } catch (error) {
        if (isNotFound(error)) return { material: undefined, resourceVersion: undefined };
        throw error;
      }
    },
    async write(material, resourceVersion) {
      const data = secretDataFromMaterial(material);
      if (resourceVersion === undefined) {
        await kube.request('POST', collection, {
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            type: 'Opaque',
            metadata: {
              name: ref.name,
              namespace: ref.namespace,
              labels: {
                'app.kubernetes.io/managed-by': 'scopegate',
                'app.kubernetes.io/component': 'webhook',
              },
            },
            data,
          },
        });
        return;
      }
      // A resourceVersion in a merge patch is a precondition: 409 if the Secret changed since read().
      await kube.request('PATCH', path, {
        body: { metadata: { resourceVersion }, data },
        contentType: MERGE_PATCH,
      });
    },
  };
}
