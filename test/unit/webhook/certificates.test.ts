import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyCertificatePlan,
  createCertificateAuthority,
  issueServingCertificate,
  needsRenewal,
  planWebhookCertificates,
  renewalTime,
  splitPemBundle,
  type CertificatePlan,
  type KeyPairPem,
  type WebhookTlsMaterial,
} from '../../../operator/src/webhook/certificates.js';

const DAY = 86_400_000;
const T0 = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY);
const HOSTS = ['scopegate-webhook.scopegate-system.svc', 'scopegate-webhook.scopegate-system', '127.0.0.1'];

describe('needsRenewal', () => {
  const cert = { notBefore: at(0), notAfter: at(90) };
  it.each([
    [0, false],
    [59, false],
    [59.99, false],
    [60, true],
    [89, true],
    [120, true],
  ])('at day %d of a 90-day certificate: %s', (day, expected) => {
    expect(needsRenewal(cert, at(day))).toBe(expected);
  });

  it('renews at two thirds of the lifetime', () => {
    expect(renewalTime(cert)).toEqual(at(60));
    expect(renewalTime({ notBefore: at(0), notAfter: at(3 * 365) })).toEqual(at(2 * 365));
  });
});

describe('issued certificates', () => {
  let ca: KeyPairPem;
  let serving: KeyPairPem;
  beforeAll(async () => {
    ca = await createCertificateAuthority('scopegate-webhook-ca.test', T0);
    serving = await issueServingCertificate(ca, HOSTS, T0);
  });

  it('the CA is a CA, valid for three years from a back-dated notBefore', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(new Date(cert.validFrom).getTime()).toBe(T0.getTime() - 5 * 60_000);
    expect(new Date(cert.validTo)).toEqual(at(3 * 365));
  });

  it('the serving certificate is signed by the CA, for server auth, naming every host', () => {
    const cert = new X509Certificate(serving.certPem);
    expect(cert.ca).toBe(false);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe(
      'DNS:scopegate-webhook.scopegate-system.svc, DNS:scopegate-webhook.scopegate-system, IP Address:127.0.0.1',
    );
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new Date(cert.validTo)).toEqual(at(90));
    expect(serving.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('never outlives its CA', async () => {
    const late = await issueServingCertificate(ca, HOSTS, at(3 * 365 - 10));
    expect(new Date(new X509Certificate(late.certPem).validTo)).toEqual(at(3 * 365));
  });

  it('needs at least one host', async () => {
    await expect(issueServingCertificate(ca, [], T0)).rejects.toThrow(TypeError);
  });
});

describe('planWebhookCertificates', () => {
  let fresh: WebhookTlsMaterial;
  let otherCa: KeyPairPem;
  beforeAll(async () => {
    fresh = await applyCertificatePlan({ action: 'create', reason: 'test' }, undefined, HOSTS, T0, 'ca');
    otherCa = await createCertificateAuthority('other', T0);
  });
  const plan = (material: WebhookTlsMaterial | undefined, day: number, hosts = HOSTS) =>
    planWebhookCertificates(material, hosts, at(day));

  it('creates everything when there is nothing', () => {
    expect(plan(undefined, 0)).toMatchObject({ action: 'create' });
  });

  it('keeps fresh material until the serving certificate is due', () => {
    expect(plan(fresh, 1)).toEqual({
      action: 'keep',
      renewAt: renewalTime({ notBefore: new Date(T0.getTime() - 300_000), notAfter: at(90) }),
    });
  });

  it.each<
    [string, (m: WebhookTlsMaterial) => WebhookTlsMaterial, number, CertificatePlan['action'], string?]
  >([
    ['serving certificate past 2/3', (m) => m, 61, 'issue-serving', 'two thirds'],
    ['CA past 2/3', (m) => m, 2 * 365 + 1, 'rotate-ca'],
    ['CA expired', (m) => m, 3 * 365 + 1, 'create', 'expired'],
    ['unreadable CA', (m) => ({ ...m, ca: { ...m.ca, certPem: 'garbage' } }), 1, 'create'],
    ['CA key of another CA', (m) => ({ ...m, ca: { ...m.ca, keyPem: otherCa.keyPem } }), 1, 'create'],
    [
      'bundle without the CA',
      (m) => ({ ...m, caBundle: otherCa.certPem }),
      1,
      'update-bundle',
      'does not contain',
    ],
    [
      'bundle with garbage',
      (m) => ({
        ...m,
        caBundle: m.caBundle + '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      }),
      1,
      'update-bundle',
    ],
    [
      'serving key of another pair',
      (m) => ({ ...m, serving: { ...m.serving, keyPem: m.ca.keyPem } }),
      1,
      'issue-serving',
      'does not match',
    ],
    [
      'serving certificate from another CA',
      (m) => ({ ...m, serving: { certPem: otherCa.certPem, keyPem: otherCa.keyPem } }),
      1,
      'issue-serving',
      'not issued by the current CA',
    ],
  ])('%s → %s', (_name, change, day, action, reason) => {
    const result = plan(change(fresh), day);
    expect(result.action).toBe(action);
    if (reason !== undefined && 'reason' in result) expect(result.reason).toContain(reason);
  });

  it('reissues when the hosts change', () => {
    expect(plan(fresh, 1, [...HOSTS, 'scopegate-webhook.other.svc'])).toMatchObject({
      action: 'issue-serving',
      reason: 'the serving certificate does not cover scopegate-webhook.other.svc',
    });
  });

  it('rotates the CA without an outage: trust both, then reissue, then drop the old CA once expired', async () => {
    const rotation = at(2 * 365 + 1);
    const step1 = planWebhookCertificates(fresh, HOSTS, rotation);
    expect(step1.action).toBe('rotate-ca');
    const rotated = await applyCertificatePlan(
      step1 as Exclude<CertificatePlan, { action: 'keep' }>,
      fresh,
      HOSTS,
      rotation,
      'ca',
    );
    expect(splitPemBundle(rotated.caBundle)).toEqual([rotated.ca.certPem, fresh.ca.certPem]);
    expect(rotated.serving).toEqual(fresh.serving); // replicas keep serving what the old CA signed

    const step2 = planWebhookCertificates(rotated, HOSTS, rotation);
    expect(step2).toMatchObject({
      action: 'issue-serving',
      reason: 'the serving certificate was not issued by the current CA',
    });
    const reissued = await applyCertificatePlan(
      step2 as Exclude<CertificatePlan, { action: 'keep' }>,
      rotated,
      HOSTS,
      rotation,
      'ca',
    );
    const keep = planWebhookCertificates(reissued, HOSTS, rotation);
    expect(keep.action).toBe('keep');
    // The next event is the new serving certificate's renewal, two thirds into its 90 days.
    if (keep.action === 'keep')
      expect(Math.round((keep.renewAt.getTime() - rotation.getTime()) / DAY)).toBe(60);

    const afterOldExpiry = at(3 * 365 + 1);
    const step3 = planWebhookCertificates(reissued, HOSTS, afterOldExpiry);
    expect(step3.action).toBe('update-bundle');
    const pruned = await applyCertificatePlan(
      step3 as Exclude<CertificatePlan, { action: 'keep' }>,
      reissued,
      HOSTS,
      afterOldExpiry,
      'ca',
    );
    expect(splitPemBundle(pruned.caBundle)).toEqual([reissued.ca.certPem]);
  });
});
