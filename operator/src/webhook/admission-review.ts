/**
 * AdmissionReview v1 in → AdmissionReview v1 out, for pods. Pure: decode, inject, diff, encode. The
 * webhook configuration only sends opted-in pods, but the handler re-checks everything (fail closed
 * is the policy's job, not the selector's).
 */
import type { V1Pod } from '@kubernetes/client-node';
import { injectSidecar } from './inject.js';
import { createJsonPatch, type JsonPatchOperation } from './json-patch.js';
import type { InjectionSettings } from './settings.js';

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  object?: unknown;
  dryRun?: boolean;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason?: string; message: string };
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReview {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

/** What happened, for metrics and logs: stable values (they are a metric label). */
export type ReviewOutcome = 'injected' | 'unchanged' | 'skipped' | 'rejected';

export interface ReviewResult {
  review: AdmissionReview;
  outcome: ReviewOutcome;
  /** Why, for the log line; never contains the pod spec. */
  detail: string;
  patch: JsonPatchOperation[];
}

export class MalformedReviewError extends Error {
  readonly code = 'ERR_WEBHOOK_MALFORMED_REVIEW';
}

/** Checks the envelope; anything else than an AdmissionReview v1 with a request uid is a 400. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (body === null || typeof body !== 'object') throw new MalformedReviewError('body is not a JSON object');
  const review = body as Partial<AdmissionReview>;
  if (review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') {
    throw new MalformedReviewError(
      `expected apiVersion admission.k8s.io/v1 kind AdmissionReview, got ${String(review.apiVersion)} ${String(review.kind)}`,
    );
  }
  const request = review.request;
  if (
    request === undefined ||
    typeof request !== 'object' ||
    typeof request.uid !== 'string' ||
    request.uid === ''
  ) {
    throw new MalformedReviewError('AdmissionReview has no request.uid');
  }
  return request;
}

function respond(uid: string, response: Omit<AdmissionResponse, 'uid'>): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, ...response } };
}

export function reviewPodAdmission(request: AdmissionRequest, settings: InjectionSettings): ReviewResult {
  const allow = (outcome: ReviewOutcome, detail: string): ReviewResult => ({
    review: respond(request.uid, { allowed: true }),
    outcome,
    detail,
    patch: [],
  });
  const isPod = request.kind?.kind === 'Pod' && (request.kind.group ?? '') === '' && !request.subResource;
  if (!isPod) return allow('skipped', `not a pod (${request.kind?.kind ?? 'unknown kind'})`);
  // Containers are immutable after creation: only CREATE can add a sidecar.
  if (request.operation !== 'CREATE') return allow('skipped', `operation ${String(request.operation)}`);
  const pod = request.object;
  if (pod === null || typeof pod !== 'object') {
    return {
      review: respond(request.uid, {
        allowed: false,
        status: {
          code: 400,
          reason: 'BadRequest',
          message: 'scopegate: the admission request carries no pod',
        },
      }),
      outcome: 'rejected',
      detail: 'no object',
      patch: [],
    };
  }

  const result = injectSidecar(pod as V1Pod, undefined, settings, request.namespace);
  if ('error' in result) {
    return {
      review: respond(request.uid, {
        allowed: false,
        status: { code: 400, reason: 'BadRequest', message: result.error.message },
      }),
      outcome: 'rejected',
      detail: result.error.code,
      patch: [],
    };
  }
  if (result.skipped !== undefined) return allow('skipped', result.skipped);
  const patch = createJsonPatch(pod, result.pod);
  if (patch.length === 0) return allow('unchanged', 'already injected');
  return {
    review: respond(request.uid, {
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(patch)).toString('base64'),
    }),
    outcome: 'injected',
    detail: 'sidecar injected',
    patch,
  };
}
