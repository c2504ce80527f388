/**
 * The last good keys of every server, kept in a ConfigMap by the leader, so a restarted operator (or
 * one whose standby died with it) still has them when the identity provider is down at that moment.
 * Without this, the first bundles after such a restart would carry no keys and every API would
 * reject every token until the provider came back. Entries are public keys only (screened).
 */
import type { Jwk } from '../../../crds/src/index.js';
import { isConflict, isNotFound, MERGE_PATCH, type KubeClient } from '../kube/client.js';

export interface CachedKeys {
  uid: string;
  issuer: string;
  fetchedAt: string;
  keys: Jwk[];
}

const MAX_ENTRY_BYTES = 64 * 1024;

/** `namespace/name` → a ConfigMap data key (`_` appears in neither part). */
export const cacheKey = (key: string) => key.replace('/', '_');

export class KeyCache {
  private entries = new Map<string, CachedKeys>();
  private readonly path: string;

  constructor(
    private readonly client: KubeClient,
    private readonly ref: { namespace: string; name: string },
  ) {
    this.path = `/api/v1/namespaces/${ref.namespace}/configmaps/${ref.name}`;
  }

  async load(): Promise<void> {
    try {
      const cm = await this.client.request<{ data?: Record<string, string> }>('GET', this.path);
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        try {
          const entry = JSON.parse(v) as CachedKeys;
          if (Array.isArray(entry.keys) && typeof entry.uid === 'string') this.entries.set(k, entry);
        } catch {
          // an unreadable entry is as good as none
        }
      }
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  get(key: string): CachedKeys | undefined {
    return this.entries.get(cacheKey(key));
  }

  async save(key: string, entry: CachedKeys): Promise<void> {
    const text = JSON.stringify(entry);
    if (text.length > MAX_ENTRY_BYTES) return;
    this.entries.set(cacheKey(key), entry);
    await this.patch({ [cacheKey(key)]: text });
  }

  async remove(key: string): Promise<void> {
    if (!this.entries.delete(cacheKey(key))) return;
    await this.patch({ [cacheKey(key)]: null });
  }

  private async patch(data: Record<string, string | null>): Promise<void> {
    try {
      await this.client.request('PATCH', this.path, { body: { data }, contentType: MERGE_PATCH });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.client.request('POST', `/api/v1/namespaces/${this.ref.namespace}/configmaps`, {
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name: this.ref.name,
              namespace: this.ref.namespace,
              labels: { 'app.kubernetes.io/managed-by': 'scopegate' },
            },
            data: Object.fromEntries(Object.entries(data).filter(([, v]) => v !== null)),
          },
        });
      } catch (e2) {
        if (!isConflict(e2)) throw e2;
        await this.client.request('PATCH', this.path, { body: { data }, contentType: MERGE_PATCH });
      }
    }
  }
}
