import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchWithCa } from '../../support/http-client.js';
import {
  createSigningKey,
  DEFAULT_TENANT_ID,
  mintProviderShapedToken,
  startJwksServer,
  type JwksServer,
  type SigningKey,
} from '../../support/provider-tokens.js';

describe('provider-shaped tokens and the HTTPS JWKS server', () => {
  let key: SigningKey;
  let jwks: JwksServer;
  beforeAll(async () => {
    key = await createSigningKey('vendor-key-1');
    jwks = await startJwksServer({ keys: [key] });
  });
  afterAll(async () => jwks?.stop());

  const verify = (token: string) =>
    jwtVerify(token, createRemoteJWKSet(new URL(jwks.uri), { [customFetch]: fetchWithCa(jwks.caPem) }), {
      audience: 'api://scopegate-e2e',
      algorithms: ['RS256'],
    });
  const base = { audience: 'api://scopegate-e2e', clientId: 'client-1', roles: ['acme::1234567::admin'] };

  it('Okta: scp array, cid, no uid, custom authorization server issuer', async () => {
    const { payload, protectedHeader } = await verify(
      await mintProviderShapedToken('okta', { key, ...base }),
    );
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: 'vendor-key-1' });
    expect(payload).toMatchObject({ scp: ['acme::1234567::admin'], cid: 'client-1', ver: 1 });
    expect(payload.iss).toMatch(/^https:\/\/[^/]+\/oauth2\/[^/]+$/);
    expect(payload).not.toHaveProperty('uid');
    expect(payload).not.toHaveProperty('scope');
  });

  it('Entra ID v1.0: sts.windows.net issuer, appid, roles array, no scp', async () => {
    const { payload } = await verify(await mintProviderShapedToken('entra-v1', { key, ...base }));
    expect(payload).toMatchObject({
      iss: `https://sts.windows.net/${DEFAULT_TENANT_ID}/`,
      ver: '1.0',
      appid: 'client-1',
      roles: ['acme::1234567::admin'],
      tid: DEFAULT_TENANT_ID,
    });
    expect(payload).not.toHaveProperty('scp');
    expect(payload).not.toHaveProperty('azp');
  });

  it('Entra ID v2.0: login.microsoftonline.com/<tid>/v2.0 issuer, azp, roles array', async () => {
    const { payload } = await verify(await mintProviderShapedToken('entra-v2', { key, ...base }));
    expect(payload).toMatchObject({
      iss: `https://login.microsoftonline.com/${DEFAULT_TENANT_ID}/v2.0`,
      ver: '2.0',
      azp: 'client-1',
      roles: ['acme::1234567::admin'],
    });
    expect(payload).not.toHaveProperty('appid');
  });

  it('PingFederate: client_id with a space-separated scope string, or an scp array', async () => {
    const roles = ['acme::1234567::admin', 'acme::1234567::reader'];
    const s = await verify(await mintProviderShapedToken('pingfederate', { key, ...base, roles }));
    expect(s.payload).toMatchObject({ client_id: 'client-1', scope: roles.join(' ') });
    const a = await verify(
      await mintProviderShapedToken('pingfederate', { key, ...base, roles, pingScopeClaim: 'scp' }),
    );
    expect(a.payload).toMatchObject({ client_id: 'client-1', scp: roles });
    expect(a.payload).not.toHaveProperty('scope');
  });

  it('publishes rotated keys', async () => {
    const next = await createSigningKey('vendor-key-2');
    jwks.setKeys([next, key]);
    await verify(await mintProviderShapedToken('okta', { key: next, ...base }));
    expect(jwks.fetchCount).toBeGreaterThan(0);
  });
});
