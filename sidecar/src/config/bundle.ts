/**
 * A config bundle is the SidecarConfig as the payload of an ES256 compact JWS whose `typ` is
 * CONFIG_BUNDLE_TYP. The sidecar accepts nothing else: no other algorithm, no other typ, no `crit`,
 * and the payload must pass validateSidecarConfig. Revision ordering (no rollback) is the store's job.
 */
import type { KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader, type CryptoKey } from 'jose';
import { CONFIG_BUNDLE_TYP, type SidecarConfig } from './contract.js';
import { validateSidecarConfig } from './validate.js';

export const CONFIG_BUNDLE_ALG = 'ES256';
/** Far above any real config (1024 roles × 64 permissions), far below what would hurt a sidecar. */
export const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;

export type ConfigBundleErrorCode = 'ERR_BUNDLE_SIGNATURE' | 'ERR_BUNDLE_INVALID';

export class ConfigBundleError extends Error {
  override readonly name = 'ConfigBundleError';
  constructor(
    readonly code: ConfigBundleErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export async function signConfigBundle(
  config: SidecarConfig,
  privateKey: CryptoKey | KeyObject,
  kid?: string,
): Promise<string> {
  const checked = validateSidecarConfig(config);
  if (!checked.ok) throw new TypeError(`refusing to sign an invalid config: ${checked.errors.join('; ')}`);
  const header = { alg: CONFIG_BUNDLE_ALG, typ: CONFIG_BUNDLE_TYP, ...(kid === undefined ? {} : { kid }) };
  return new CompactSign(new TextEncoder().encode(JSON.stringify(config)))
    .setProtectedHeader(header)
    .sign(privateKey);
}

export async function verifyConfigBundle(
  jws: string,
  publicKey: CryptoKey | KeyObject,
): Promise<SidecarConfig> {
  if (typeof jws !== 'string' || jws.length > MAX_BUNDLE_BYTES) {
    throw new ConfigBundleError('ERR_BUNDLE_INVALID', 'the bundle is not a string of acceptable size');
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jws);
  } catch (cause) {
    throw new ConfigBundleError('ERR_BUNDLE_INVALID', 'the bundle is not a compact JWS', { cause });
  }
  if (header.alg !== CONFIG_BUNDLE_ALG || header.typ !== CONFIG_BUNDLE_TYP || header.crit !== undefined) {
    throw new ConfigBundleError(
      'ERR_BUNDLE_INVALID',
      `the bundle header must be alg ${CONFIG_BUNDLE_ALG}, typ ${CONFIG_BUNDLE_TYP} and no crit`,
    );
  }
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, publicKey, { algorithms: [CONFIG_BUNDLE_ALG] }));
  } catch (cause) {
    throw new ConfigBundleError(
      'ERR_BUNDLE_SIGNATURE',
      'the bundle signature does not verify with the operator key',
      {
        cause,
      },
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch (cause) {
    throw new ConfigBundleError('ERR_BUNDLE_INVALID', 'the bundle payload is not JSON', { cause });
  }
  const checked = validateSidecarConfig(document);
  if (!checked.ok) {
    throw new ConfigBundleError(
      'ERR_BUNDLE_INVALID',
      `the bundle config is invalid: ${checked.errors.join('; ')}`,
    );
  }
  return checked.config;
}
