/**
 * Webhook TLS material: a private CA and a serving certificate it signs, both ECDSA P-256. Issuing
 * uses WebCrypto (@peculiar/x509); every decision about the material (is it usable, when to renew,
 * what to do next) is a pure function of the PEM strings and the clock.
 */
// @peculiar/x509's dependency injection (tsyringe) needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

/** What the webhook Secret holds. `caBundle` is what the API server must trust: the CA, plus the previous CA during a rotation. */
export interface WebhookTlsMaterial {
  ca: KeyPairPem;
  serving: KeyPairPem;
  caBundle: string;
}

export const CA_VALIDITY_DAYS = 3 * 365;
export const SERVING_VALIDITY_DAYS = 90;
/** Renew at two thirds of a certificate's lifetime: a month of slack for a 90-day serving certificate. */
export const RENEW_AT_FRACTION = 2 / 3;
/** Back-date notBefore so API servers whose clocks lag slightly still accept a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

const EC_KEY: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
type EcKeyGenParams = { name: 'ECDSA'; namedCurve: 'P-256' };
type EcdsaParams = { name: 'ECDSA'; hash: 'SHA-256' };

const subtle = webcrypto.subtle;
// @peculiar/x509 types its provider argument with the DOM Crypto type; node's webcrypto is that object.
const provider = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1];

async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await subtle.exportKey('pkcs8', key));
  return pemLine(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

async function importSigningKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  return subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
}

/** PEM blocks end with a newline, so bundles can be concatenated safely. */
function pemLine(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

/** Concatenates PEM blocks into a bundle (each block on its own lines). */
export function joinPemBundle(pems: readonly string[]): string {
  return pems.map(pemLine).join('');
}

function validity(now: Date, days: number, notAfterCap?: Date) {
  const notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  let notAfter = new Date(now.getTime() + days * DAY_MS);
  if (notAfterCap !== undefined && notAfterCap < notAfter) notAfter = notAfterCap;
  return { notBefore, notAfter };
}

function randomSerial(): string {
  // Positive 128-bit serial (high bit clear), as RFC 5280 asks.
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString('hex');
}

export async function createCertificateAuthority(commonName: string, now: Date): Promise<KeyPairPem> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: `CN=${commonName}`,
      ...validity(now, CA_VALIDITY_DAYS),
      signingAlgorithm: SIGNING,
      keys: keys as CryptoKeyPairLike,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as CryptoKeyLike, false, provider),
      ],
    },
    provider,
  );
  return { certPem: pemLine(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) };
}

/** `hosts` are DNS names and IP addresses (the first one is also the common name). */
export async function issueServingCertificate(
  ca: KeyPairPem,
  hosts: string[],
  now: Date,
): Promise<KeyPairPem> {
  if (hosts.length === 0) throw new TypeError('a serving certificate needs at least one host name');
  const keys = await generateKeyPair();
  const caCert = new x509.X509Certificate(ca.certPem);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: `CN=${hosts[0]}`,
      issuer: caCert.subject,
      ...validity(now, SERVING_VALIDITY_DAYS, caCert.notAfter),
      signingAlgorithm: SIGNING,
      publicKey: keys.publicKey as CryptoKeyLike,
      signingKey: (await importSigningKey(ca.keyPem)) as CryptoKeyLike,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(
          hosts.map((host) => ({ type: isIP(host) === 0 ? ('dns' as const) : ('ip' as const), value: host })),
          false,
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, provider),
      ],
    },
    provider,
  );
  return { certPem: pemLine(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) };
}

type CryptoKeyLike = Parameters<typeof x509.SubjectKeyIdentifierExtension.create>[0];
type CryptoKeyPairLike = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

// --- decisions (pure) ----------------------------------------------------------------------------

export interface CertificateWindow {
  notBefore: Date;
  notAfter: Date;
}

export function renewalTime(cert: CertificateWindow): Date {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notBefore.getTime() + lifetime * RENEW_AT_FRACTION);
}

/** True once two thirds of the certificate's lifetime have passed (or it has expired). */
export function needsRenewal(cert: CertificateWindow, now: Date): boolean {
  return now >= renewalTime(cert);
}

export function certificateWindow(cert: X509Certificate): CertificateWindow {
  return { notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}

export function splitPemBundle(bundle: string): string[] {
  return (
    bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((pem) => `${pem}\n`) ??
    []
  );
}

function tryParse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

function keyMatches(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

function coversHost(cert: X509Certificate, host: string): boolean {
  return isIP(host) === 0 ? cert.checkHost(host, { wildcards: false }) === host : cert.checkIP(host) === host;
}

export type CertificatePlan =
  | { action: 'keep'; renewAt: Date }
  /** Nothing usable: a new CA and serving certificate. */
  | { action: 'create'; reason: string }
  /** A new CA, trusted next to the old one; the serving certificate is reissued on the next round. */
  | { action: 'rotate-ca'; reason: string }
  | { action: 'issue-serving'; reason: string }
  /** The CA bundle lacks the CA or still lists expired CAs. */
  | { action: 'update-bundle'; reason: string };

/** What to do with the webhook's TLS material now. `hosts` are the names the API server uses to call us. */
export function planWebhookCertificates(
  material: WebhookTlsMaterial | undefined,
  hosts: readonly string[],
  now: Date,
): CertificatePlan {
  if (material === undefined) return { action: 'create', reason: 'no webhook certificate yet' };
  const ca = tryParse(material.ca.certPem);
  if (ca === undefined || !ca.ca || !keyMatches(ca, material.ca.keyPem)) {
    return { action: 'create', reason: 'the stored CA is unreadable or does not match its key' };
  }
  const caWindow = certificateWindow(ca);
  if (now >= caWindow.notAfter) return { action: 'create', reason: 'the CA has expired' };
  if (needsRenewal(caWindow, now))
    return { action: 'rotate-ca', reason: 'the CA is past two thirds of its lifetime' };

  const bundle = splitPemBundle(material.caBundle).map(tryParse);
  const trusted = bundle.filter((c): c is X509Certificate => c !== undefined);
  if (!trusted.some((c) => c.fingerprint256 === ca.fingerprint256)) {
    return { action: 'update-bundle', reason: 'the CA bundle does not contain the CA' };
  }
  if (trusted.length !== bundle.length || trusted.some((c) => now >= certificateWindow(c).notAfter)) {
    return { action: 'update-bundle', reason: 'the CA bundle holds expired or unreadable certificates' };
  }

  const serving = tryParse(material.serving.certPem);
  if (serving === undefined || !keyMatches(serving, material.serving.keyPem)) {
    return {
      action: 'issue-serving',
      reason: 'the serving certificate is unreadable or does not match its key',
    };
  }
  if (!serving.checkIssued(ca) || !serving.verify(ca.publicKey)) {
    return { action: 'issue-serving', reason: 'the serving certificate was not issued by the current CA' };
  }
  const missing = hosts.filter((host) => !coversHost(serving, host));
  if (missing.length > 0) {
    return {
      action: 'issue-serving',
      reason: `the serving certificate does not cover ${missing.join(', ')}`,
    };
  }
  const servingWindow = certificateWindow(serving);
  if (needsRenewal(servingWindow, now)) {
    return { action: 'issue-serving', reason: 'the serving certificate is past two thirds of its lifetime' };
  }
  const renewAt = [
    renewalTime(servingWindow),
    renewalTime(caWindow),
    ...trusted.map((c) => certificateWindow(c).notAfter),
  ]
    .filter((time) => time > now)
    .reduce((a, b) => (a < b ? a : b));
  return { action: 'keep', renewAt };
}

/** Carries out a plan; returns the new material (the caller stores it, then trusts and serves it). */
export async function applyCertificatePlan(
  plan: Exclude<CertificatePlan, { action: 'keep' }>,
  current: WebhookTlsMaterial | undefined,
  hosts: string[],
  now: Date,
  caCommonName: string,
): Promise<WebhookTlsMaterial> {
  const stillValid = (pems: string[]) =>
    pems.filter((pem) => {
      const cert = tryParse(pem);
      return cert !== undefined && now < certificateWindow(cert).notAfter;
    });
  switch (plan.action) {
    case 'create': {
      const ca = await createCertificateAuthority(caCommonName, now);
      return { ca, serving: await issueServingCertificate(ca, hosts, now), caBundle: ca.certPem };
    }
    case 'rotate-ca': {
      if (current === undefined) throw new TypeError('rotate-ca needs the current material');
      const ca = await createCertificateAuthority(caCommonName, now);
      // The old CA stays trusted until it expires: replicas still serve certificates it signed.
      const caBundle = joinPemBundle([ca.certPem, ...stillValid([current.ca.certPem])]);
      return { ca, serving: current.serving, caBundle };
    }
    case 'issue-serving': {
      if (current === undefined) throw new TypeError('issue-serving needs the current material');
      return { ...current, serving: await issueServingCertificate(current.ca, hosts, now) };
    }
    case 'update-bundle': {
      if (current === undefined) throw new TypeError('update-bundle needs the current material');
      const others = stillValid(splitPemBundle(current.caBundle)).filter(
        (pem) => !samePem(pem, current.ca.certPem),
      );
      return { ...current, caBundle: joinPemBundle([current.ca.certPem, ...others]) };
    }
  }
}

function samePem(a: string, b: string): boolean {
  return a.replace(/\s+/g, '') === b.replace(/\s+/g, '');
}

/** Seconds since the epoch when the certificate expires, for the expiry metric; undefined if unreadable. */
export function certificateExpiry(certPem: string): Date | undefined {
  const cert = tryParse(certPem);
  return cert === undefined ? undefined : certificateWindow(cert).notAfter;
}
