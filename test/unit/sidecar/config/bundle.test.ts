import { CompactSign, generateKeyPair, type CryptoKey } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigBundleError,
  signConfigBundle,
  verifyConfigBundle,
} from '../../../../sidecar/src/config/bundle.js';
import { CONFIG_BUNDLE_TYP, type SidecarConfig } from '../../../../sidecar/src/config/contract.js';
import { buildSidecarConfig } from '../../../../sidecar/src/config/from-resources.js';
import { authorizationServer, NOW, STANDARD_ROLES, TENANT } from '../builders.js';

let operator: { privateKey: CryptoKey; publicKey: CryptoKey };
let config: SidecarConfig;

beforeAll(async () => {
  operator = await generateKeyPair('ES256');
  config = buildSidecarConfig({
    tenant: TENANT,
    revision: 3,
    now: NOW,
    servers: [{ resource: authorizationServer('idp'), keys: undefined }],
    roles: STANDARD_ROLES,
  });
});

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigBundleError);
    return (error as ConfigBundleError).code;
  }
}

const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

describe('config bundles', () => {
  it('round-trips a config, with CryptoKeys or KeyObjects', async () => {
    const bundle = await signConfigBundle(config, operator.privateKey, 'op-1');
    expect(await verifyConfigBundle(bundle, operator.publicKey)).toEqual(config);
    const header = JSON.parse(Buffer.from(bundle.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'ES256', typ: CONFIG_BUNDLE_TYP, kid: 'op-1' });
    const nodeKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signed = await signConfigBundle(config, nodeKeys.privateKey);
    expect((await verifyConfigBundle(signed, nodeKeys.publicKey)).revision).toBe(3);
  });

  it('refuses to sign an invalid config', async () => {
    await expect(signConfigBundle({ ...config, revision: -1 }, operator.privateKey)).rejects.toThrow(
      TypeError,
    );
  });

  it('refuses a bundle signed by another key', async () => {
    const other = await generateKeyPair('ES256');
    expect(
      await codeOf(verifyConfigBundle(await signConfigBundle(config, other.privateKey), operator.publicKey)),
    ).toBe('ERR_BUNDLE_SIGNATURE');
  });

  it('refuses a tampered payload', async () => {
    const [h, , s] = (await signConfigBundle(config, operator.privateKey)).split('.');
    const forged = Buffer.from(JSON.stringify({ ...config, revision: 99 })).toString('base64url');
    expect(await codeOf(verifyConfigBundle(`${h}.${forged}.${s}`, operator.publicKey))).toBe(
      'ERR_BUNDLE_SIGNATURE',
    );
  });

  it.each([
    ['another typ', { alg: 'ES256', typ: 'JWT' }],
    ['no typ', { alg: 'ES256' }],
    ['crit', { alg: 'ES256', typ: CONFIG_BUNDLE_TYP, crit: ['b64'], b64: true }],
  ])('refuses a bundle with %s', async (_name, header) => {
    const jws = await new CompactSign(encode(config))
      .setProtectedHeader(header as never)
      .sign(operator.privateKey);
    expect(await codeOf(verifyConfigBundle(jws, operator.publicKey))).toBe('ERR_BUNDLE_INVALID');
  });

  it('refuses another algorithm, alg none and HS256', async () => {
    const es384 = await generateKeyPair('ES384');
    const jws = await new CompactSign(encode(config))
      .setProtectedHeader({ alg: 'ES384', typ: CONFIG_BUNDLE_TYP })
      .sign(es384.privateKey);
    expect(await codeOf(verifyConfigBundle(jws, es384.publicKey))).toBe('ERR_BUNDLE_INVALID');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const none = `${b64({ alg: 'none', typ: CONFIG_BUNDLE_TYP })}.${b64(config)}.`;
    expect(await codeOf(verifyConfigBundle(none, operator.publicKey))).toBe('ERR_BUNDLE_INVALID');
    const hs = `${b64({ alg: 'HS256', typ: CONFIG_BUNDLE_TYP })}.${b64(config)}.AAAA`;
    expect(await codeOf(verifyConfigBundle(hs, operator.publicKey))).toBe('ERR_BUNDLE_INVALID');
  });

  it('refuses a signed payload that is not a valid config', async () => {
    for (const payload of ['not json', { ...config, extra: true }, [config]]) {
      const jws = await new CompactSign(encode(payload))
        .setProtectedHeader({ alg: 'ES256', typ: CONFIG_BUNDLE_TYP })
        .sign(operator.privateKey);
      expect(await codeOf(verifyConfigBundle(jws, operator.publicKey))).toBe('ERR_BUNDLE_INVALID');
    }
  });

  it('refuses junk and oversized input', async () => {
    for (const junk of ['', 'a.b', 'a.b.c', 'x'.repeat(9 * 1024 * 1024), 42 as never]) {
      expect(await codeOf(verifyConfigBundle(junk, operator.publicKey))).toBe('ERR_BUNDLE_INVALID');
    }
  });
});
