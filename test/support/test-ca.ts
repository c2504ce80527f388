/**
 * A throwaway certificate authority for the loopback HTTPS servers of the e2e tier and the demo (the
 * identity provider, the JWKS servers): scopegate requires `jwks.uri` to be https, so the tests serve
 * real TLS and hand the CA to the AuthorizationServer's `caBundle` and to their own HTTP clients.
 */
import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

const EC: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ServerCertificate {
  certPem: string;
  keyPem: string;
  /** The CA certificate, for clients. */
  caPem: string;
}

export interface TestCa {
  caPem: string;
  /** A server certificate for the given IP addresses and DNS names (the first one is the subject CN). */
  issue(subjectAltNames: { ips?: string[]; dnsNames?: string[] }): Promise<ServerCertificate>;
}

const toPem = (der: ArrayBuffer, label: string) => x509.PemConverter.encode(der, label);

export async function createTestCa(name = 'scopegate test CA'): Promise<TestCa> {
  const caKeys = (await webcrypto.subtle.generateKey(EC, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - DAY_MS);
  const notAfter = new Date(Date.now() + 30 * DAY_MS);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys: caKeys,
    signingAlgorithm: EC,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const caPem = caCert.toString('pem');

  return {
    caPem,
    async issue({ ips = [], dnsNames = [] }) {
      const keys = (await webcrypto.subtle.generateKey(EC, true, [
        'sign',
        'verify',
      ])) as webcrypto.CryptoKeyPair;
      const cn = ips[0] ?? dnsNames[0] ?? 'localhost';
      const cert = await x509.X509CertificateGenerator.create({
        subject: `CN=${cn}`,
        issuer: caCert.subject,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: EC,
        notBefore,
        notAfter,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
          new x509.SubjectAlternativeNameExtension([
            ...ips.map((value) => ({ type: 'ip' as const, value })),
            ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ]),
          await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
        ],
      });
      const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
      return { certPem: cert.toString('pem'), keyPem: toPem(pkcs8, 'PRIVATE KEY'), caPem };
    },
  };
}
