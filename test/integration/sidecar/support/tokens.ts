/**
 * Signing keys and access tokens for the integration tests: well-formed tokens minted with jose,
 * and hand-assembled hostile ones (unsigned, HMAC with the public key, foreign headers, ...).
 */
import { createHmac, createPublicKey, KeyObject, sign } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export const ISSUER = 'https://idp.test/oauth2/default';
export const AUDIENCE = 'api://orders';
export const CLOUD = 'zscaler';
export const ORG = '4242';

export interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function signingKey(kid: string, alg: 'RS256' | 'ES256' = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export function scope(role: string, cloud = CLOUD, org = ORG): string {
  return `${cloud}::${org}::${role}`;
}

export interface MintOptions {
  claims?: JWTPayload & Record<string, unknown>;
  header?: Record<string, unknown>;
  /** Seconds from now. */
  expiresIn?: number;
  notBefore?: number;
}

/** An Okta-shaped client-credentials token (scope in `scp`, client in `cid`); `claims` override any claim. */
export async function mint(key: SigningKey, scopes: string[], options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'client-orders',
    iat: now,
    exp: now + (options.expiresIn ?? 600),
    scp: scopes,
    cid: 'client-orders',
    ...(options.notBefore === undefined ? {} : { nbf: now + options.notBefore }),
    ...options.claims,
  };
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
    .sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Header and payload of a real token, with a chosen header and signature (for forgeries). */
export function reassemble(token: string, header: Record<string, unknown>, signature: string): string {
  const payload = token.split('.')[1] as string;
  return `${b64(header)}.${payload}.${signature}`;
}

export function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

/** The classic key confusion: HS256 keyed with the server's RSA public key (PEM and JWK text). */
export function hmacWithPublicKey(token: string, key: SigningKey, keyText: 'pem' | 'jwk'): string {
  const header = { alg: 'HS256', kid: key.kid, typ: 'JWT' };
  const secret =
    keyText === 'pem'
      ? createPublicKey({ key: key.publicJwk as never, format: 'jwk' }).export({
          type: 'spki',
          format: 'pem',
        })
      : JSON.stringify(key.publicJwk);
  const signingInput = `${b64(header)}.${token.split('.')[1]}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** Any payload, signed properly: for claim-level attacks. */
export async function signPayload(
  key: SigningKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** Signs any header and payload with RS256 by hand (jose refuses to produce some hostile headers). */
export function signRawRs256(
  key: SigningKey,
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), KeyObject.from(key.privateKey as never));
  return `${input}.${signature.toString('base64url')}`;
}
