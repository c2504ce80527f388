import { describe, expect, it } from 'vitest';
import {
  MalformedReviewError,
  parseAdmissionReview,
  reviewPodAdmission,
  type AdmissionRequest,
} from '../../../operator/src/webhook/admission-review.js';
import { admissionReview, applyJsonPatch, pod, SETTINGS } from './fixtures.js';

const request = (object: unknown, overrides: Partial<AdmissionRequest> = {}) =>
  parseAdmissionReview(admissionReview(object, overrides));

describe('parseAdmissionReview', () => {
  it.each([
    [null, 'body is not a JSON object'],
    [
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } },
      'expected apiVersion admission.k8s.io/v1',
    ],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, 'no request.uid'],
    [{ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: '' } }, 'no request.uid'],
  ])('rejects %j', (body, message) => {
    expect(() => parseAdmissionReview(body)).toThrow(MalformedReviewError);
    expect(() => parseAdmissionReview(body)).toThrow(message);
  });
});

describe('reviewPodAdmission', () => {
  it('answers a CREATE of an opted-in pod with a base64 JSONPatch, echoing the uid', () => {
    const input = pod();
    const result = reviewPodAdmission(request(input), SETTINGS);
    expect(result.outcome).toBe('injected');
    const response = result.review.response;
    expect(result.review).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' });
    expect(response).toMatchObject({
      uid: '705ab4f5-6393-11e8-b7cc-42010a800002',
      allowed: true,
      patchType: 'JSONPatch',
    });
    const patch = JSON.parse(Buffer.from(response?.patch ?? '', 'base64').toString('utf8'));
    expect(patch).toEqual(result.patch);
    const out = applyJsonPatch(input, patch);
    expect(out.spec?.containers.map((c) => c.name)).toEqual(['app', 'scopegate-sidecar']);
  });

  it('answers an already injected pod without a patch', () => {
    const first = reviewPodAdmission(request(pod()), SETTINGS);
    const injected = applyJsonPatch(pod(), first.patch);
    const again = reviewPodAdmission(request(injected), SETTINGS);
    expect(again.outcome).toBe('unchanged');
    expect(again.review.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  });

  it('denies a pod with bad annotations with a 400 and the message', () => {
    const result = reviewPodAdmission(request(pod({ annotations: {} })), SETTINGS);
    expect(result.outcome).toBe('rejected');
    expect(result.review.response).toMatchObject({
      allowed: false,
      status: {
        code: 400,
        reason: 'BadRequest',
        message: expect.stringContaining('set the annotation scopegate.io/upstream-port'),
      },
    });
    expect(result.review.response?.patch).toBeUndefined();
  });

  it.each([
    ['an UPDATE', { operation: 'UPDATE' }],
    ['a DELETE', { operation: 'DELETE' }],
    ['another kind', { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }],
    ['a pod subresource', { subResource: 'status' }],
  ])('allows %s untouched', (_name, overrides) => {
    const result = reviewPodAdmission(request(pod(), overrides as Partial<AdmissionRequest>), SETTINGS);
    expect(result.outcome).toBe('skipped');
    expect(result.review.response).toEqual({ uid: '705ab4f5-6393-11e8-b7cc-42010a800002', allowed: true });
  });

  it('leaves a pod that opted out untouched', () => {
    const result = reviewPodAdmission(request(pod({ labels: { 'scopegate.io/inject': 'false' } })), SETTINGS);
    expect(result).toMatchObject({ outcome: 'skipped', patch: [] });
  });

  it('uses the request namespace (a pod has none before creation) for exclusions', () => {
    const bare = pod();
    delete bare.metadata?.namespace;
    const result = reviewPodAdmission(request(bare, { namespace: 'kube-system' }), SETTINGS);
    expect(result).toMatchObject({
      outcome: 'skipped',
      detail: 'namespace kube-system is excluded from injection',
    });
  });

  it('rejects a CREATE without an object', () => {
    const result = reviewPodAdmission(request(undefined), SETTINGS);
    expect(result.outcome).toBe('rejected');
    expect(result.review.response?.allowed).toBe(false);
  });
});
