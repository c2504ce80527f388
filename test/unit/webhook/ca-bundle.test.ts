import { describe, expect, it } from 'vitest';
import { caBundlePatch } from '../../../operator/src/webhook/ca-bundle.js';
import {
  materialFromSecretData,
  secretDataFromMaterial,
} from '../../../operator/src/webhook/tls-secret-store.js';
import { applyJsonPatch } from './fixtures.js';

const PEM = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const B64 = Buffer.from(PEM).toString('base64');

describe('caBundlePatch', () => {
  it('sets the caBundle of every webhook that lacks it, guarded by a test of its name', () => {
    const configuration = {
      webhooks: [
        { name: 'namespaces.pods.scopegate.io', clientConfig: {} },
        { name: 'pods.scopegate.io', clientConfig: { caBundle: B64 } },
        { name: 'other.scopegate.io', clientConfig: { caBundle: 'c3RhbGU=' } },
      ],
    };
    const patch = caBundlePatch(configuration, PEM);
    expect(patch).toEqual([
      { op: 'test', path: '/webhooks/0/name', value: 'namespaces.pods.scopegate.io' },
      { op: 'add', path: '/webhooks/0/clientConfig/caBundle', value: B64 },
      { op: 'test', path: '/webhooks/2/name', value: 'other.scopegate.io' },
      { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: B64 },
    ]);
    const patched = applyJsonPatch(configuration, patch);
    expect(patched.webhooks.every((w) => w.clientConfig.caBundle === B64)).toBe(true);
    expect(caBundlePatch(patched, PEM)).toEqual([]);
  });
});

describe('webhook TLS Secret data', () => {
  const material = {
    ca: { certPem: 'ca-cert', keyPem: 'ca-key' },
    serving: { certPem: 'tls-cert', keyPem: 'tls-key' },
    caBundle: 'bundle',
  };

  it('round-trips through base64 Secret data under the kubernetes.io/tls key names', () => {
    const data = secretDataFromMaterial(material);
    expect(Object.keys(data).sort()).toEqual(['ca-bundle.crt', 'ca.crt', 'ca.key', 'tls.crt', 'tls.key']);
    expect(materialFromSecretData(data)).toEqual(material);
  });

  it('treats an empty or partial Secret (as the chart creates it) as no material', () => {
    expect(materialFromSecretData(undefined)).toBeUndefined();
    const { ['ca.key']: _dropped, ...partial } = secretDataFromMaterial(material);
    expect(materialFromSecretData(partial)).toBeUndefined();
  });
});
