/**
 * The ES256 key that signs config bundles. It lives in a Secret so every replica and every restart
 * signs with the same key (sidecars trust one public key, given at injection). Created when missing,
 * safely under concurrency: create; on 409 someone else won, read theirs. The public half is also
 * published in a ConfigMap for the injector and for people.
 */
import {
  calculateJwkThumbprint,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  importPKCS8,
  importSPKI,
} from 'jose';
import { isConflict, isNotFound, MERGE_PATCH, type KubeClient } from '../kube/client.js';

export const PRIVATE_KEY_FIELD = 'private-key.pem';
export const PUBLIC_KEY_FIELD = 'public-key.pem';
export const KEY_ID_FIELD = 'key-id';

type PrivateKey = Awaited<ReturnType<typeof importPKCS8>>;

export interface SigningKey {
  privateKey: PrivateKey;
  publicKeyPem: string;
  kid: string;
}

interface Secret {
  metadata?: { resourceVersion?: string };
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) =>
  s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');

async function fromSecret(secret: Secret, where: string): Promise<SigningKey> {
  const privatePem = unb64(secret.data?.[PRIVATE_KEY_FIELD]);
  const publicPem = unb64(secret.data?.[PUBLIC_KEY_FIELD]);
  if (!privatePem || !publicPem) {
    throw new Error(
      `Secret ${where} lacks ${PRIVATE_KEY_FIELD} or ${PUBLIC_KEY_FIELD}; delete it to have a new key generated`,
    );
  }
  const privateKey = await importPKCS8(privatePem, 'ES256');
  const kid = await calculateJwkThumbprint(
    await exportJWK(await importSPKI(publicPem, 'ES256', { extractable: true })),
  );
  return { privateKey, publicKeyPem: publicPem, kid };
}

export async function ensureSigningKey(
  client: KubeClient,
  ref: { namespace: string; name: string },
): Promise<SigningKey> {
  const where = `${ref.namespace}/${ref.name}`;
  const path = `/api/v1/namespaces/${ref.namespace}/secrets/${ref.name}`;
  try {
    return await fromSecret(await client.request<Secret>('GET', path), where);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const privatePem = await exportPKCS8(privateKey);
  const publicPem = await exportSPKI(publicKey);
  try {
    await client.request('POST', `/api/v1/namespaces/${ref.namespace}/secrets`, {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'Opaque',
        metadata: {
          name: ref.name,
          namespace: ref.namespace,
          labels: { 'app.kubernetes.io/managed-by': 'scopegate' },
        },
        data: { [PRIVATE_KEY_FIELD]: b64(privatePem), [PUBLIC_KEY_FIELD]: b64(publicPem) },
      },
    });
  } catch (e) {
    if (!isConflict(e)) throw e; // another replica created it first: use theirs
  }
  return fromSecret(await client.request<Secret>('GET', path), where);
}

/** Creates or updates the ConfigMap that publishes the public key. */
export async function publishPublicKey(
  client: KubeClient,
  ref: { namespace: string; name: string },
  key: Pick<SigningKey, 'publicKeyPem' | 'kid'>,
): Promise<void> {
  const data = { [PUBLIC_KEY_FIELD]: key.publicKeyPem, [KEY_ID_FIELD]: key.kid };
  const path = `/api/v1/namespaces/${ref.namespace}/configmaps/${ref.name}`;
  try {
    await client.request('PATCH', path, { body: { data }, contentType: MERGE_PATCH });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    try {
      await client.request('POST', `/api/v1/namespaces/${ref.namespace}/configmaps`, {
        body: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: {
            name: ref.name,
            namespace: ref.namespace,
            labels: { 'app.kubernetes.io/managed-by': 'scopegate' },
          },
          data,
        },
      });
    } catch (e2) {
      if (!isConflict(e2)) throw e2;
    }
  }
}
