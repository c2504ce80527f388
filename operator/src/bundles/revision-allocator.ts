/**
 * Config bundle revisions that never go backwards, across operator restarts and leader changes.
 *
 * The leader reserves revisions in blocks by raising a counter kept in a ConfigMap
 * (`data.reservedThrough`) with a resourceVersion-guarded update, then hands them out from memory. A
 * new leader (or a restarted operator) reserves the next block above the stored counter, so every
 * revision it issues is above every revision any earlier leader could have issued. As a second
 * guard, revisions that sidecars report are fed in through `observe()`: the next revision handed out
 * is always above the highest one seen, even if the ConfigMap was deleted or restored from a backup.
 */
import { isConflict, isNotFound, type KubeClient } from '../kube/client.js';

export const RESERVED_THROUGH_KEY = 'reservedThrough';

/** Pure: the block to reserve given the stored counter and the highest revision known in use. */
export function planReservation(
  stored: number,
  highestKnown: number,
  blockSize: number,
): { first: number; last: number } {
  const first = Math.max(stored, highestKnown) + 1;
  return { first, last: first + blockSize - 1 };
}

interface ConfigMap {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  data?: Record<string, string>;
}

export interface RevisionAllocatorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  blockSize?: number;
}

export class RevisionAllocator {
  private next = 1;
  private last = 0;
  private highestKnown = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly blockSize: number;

  constructor(private readonly options: RevisionAllocatorOptions) {
    this.blockSize = options.blockSize ?? 1000;
  }

  /** A revision some sidecar runs (or an earlier operator issued). */
  observe(revision: number): void {
    if (Number.isSafeInteger(revision) && revision > this.highestKnown) this.highestKnown = revision;
  }

  /** The next revision: strictly above everything issued or observed before. Serialised. */
  allocate(): Promise<number> {
    const result = this.chain.then(async () => {
      if (this.next <= this.highestKnown || this.next > this.last) await this.reserve();
      return this.next++;
    });
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async reserve(): Promise<void> {
    const { client, namespace, name } = this.options;
    const path = `/api/v1/namespaces/${namespace}/configmaps/${name}`;
    for (let attempt = 0; attempt < 8; attempt++) {
      let current: ConfigMap | undefined;
      try {
        current = await client.request<ConfigMap>('GET', path);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      const stored = Number(current?.data?.[RESERVED_THROUGH_KEY] ?? '0');
      const known = Math.max(this.highestKnown, this.last, this.next - 1);
      const block = planReservation(Number.isSafeInteger(stored) ? stored : 0, known, this.blockSize);
      const body: ConfigMap = {
        metadata: {
          name,
          namespace,
          ...(current?.metadata.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
        },
        data: { ...current?.data, [RESERVED_THROUGH_KEY]: String(block.last) },
      };
      try {
        if (current)
          await client.request('PUT', path, { body: { apiVersion: 'v1', kind: 'ConfigMap', ...body } });
        else {
          await client.request('POST', `/api/v1/namespaces/${namespace}/configmaps`, {
            body: { apiVersion: 'v1', kind: 'ConfigMap', ...body },
          });
        }
      } catch (e) {
        if (isConflict(e)) continue; // someone else reserved meanwhile: read again, go above it
        throw e;
      }
      this.next = block.first;
      this.last = block.last;
      return;
    }
    throw new Error(
      `could not reserve config revisions in ConfigMap ${namespace}/${name}: too many conflicts`,
    );
  }
}
