/**
 * Status writes: one merge patch to the status subresource, under our field manager, and only when
 * the status differs from what the API server already has (cert-manager's "write only if changed").
 */
import { isDeepStrictEqual } from 'node:util';
import { MERGE_PATCH, type KubeClient } from './client.js';

export const FIELD_MANAGER = 'scopegate-operator';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

export const resourcePath = (r: ResourceRef) =>
  `/apis/${r.group}/${r.version}/namespaces/${r.namespace}/${r.plural}/${r.name}`;

/** A merge patch turning `before` into `after`: fields that disappeared become null. */
export function statusPatch(before: object | undefined, after: object): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...after };
  for (const key of Object.keys(before ?? {})) if (!(key in after)) patch[key] = null;
  return patch;
}

export function statusChanged(before: object | undefined, after: object): boolean {
  return !isDeepStrictEqual(before ?? {}, after);
}

/** Writes the status if it changed; returns whether it wrote. A 404 (object deleted) is not an error. */
export async function writeStatus(
  client: KubeClient,
  ref: ResourceRef,
  before: object | undefined,
  after: object,
): Promise<boolean> {
  if (!statusChanged(before, after)) return false;
  try {
    await client.request('PATCH', `${resourcePath(ref)}/status`, {
      body: { status: statusPatch(before, after) },
      contentType: MERGE_PATCH,
      query: { fieldManager: FIELD_MANAGER },
    });
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
  return true;
}
