import { createRemoteJWKSet, customFetch, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchWithCa, httpRequest } from '../../support/http-client.js';
import { startIdentityProvider, type IdentityProvider } from '../../support/idp.js';

describe('identity provider (oidc-provider, client credentials, HTTPS)', () => {
  let idp: IdentityProvider;
  beforeAll(async () => {
    idp = await startIdentityProvider({
      clients: [
        { clientId: 'admin-client', clientSecret: 'admin-secret', scopes: ['acme::1234567::admin'] },
        {
          clientId: 'multi-client',
          clientSecret: 'multi-secret',
          scopes: ['acme::1234567::reader', 'acme::1234567::auditor'],
        },
        { clientId: 'no-role-client', clientSecret: 'no-role-secret', scopes: [] },
      ],
    });
  });
  afterAll(async () => idp?.stop());

  const jwks = () => createRemoteJWKSet(new URL(idp.jwksUri), { [customFetch]: fetchWithCa(idp.caPem) });

  it('serves its metadata over HTTPS signed by the test CA', async () => {
    expect(idp.issuer).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpRequest(`${idp.issuer}/.well-known/openid-configuration`, { ca: idp.caPem });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      issuer: idp.issuer,
      token_endpoint: idp.tokenEndpoint,
      jwks_uri: idp.jwksUri,
      grant_types_supported: expect.arrayContaining(['client_credentials']),
    });
    await expect(httpRequest(idp.jwksUri)).rejects.toThrow(); // not trusted without the CA
  });

  it('issues an RS256 JWT access token with the role scope, verifiable against the JWKS', async () => {
    const token = await idp.token('admin-client');
    const { payload, protectedHeader } = await jwtVerify(token, jwks(), {
      issuer: idp.issuer,
      audience: idp.audience,
      algorithms: ['RS256'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'RS256', kid: idp.currentKid() });
    expect(payload).toMatchObject({ scope: 'acme::1234567::admin', client_id: 'admin-client' });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - payload.iat!).toBe(600);
  });

  it('accepts `::` scopes, grants several as a space-separated string, and a subset on request', async () => {
    const all = await jwtVerify(await idp.token('multi-client'), jwks());
    expect(String(all.payload.scope).split(' ').sort()).toEqual([
      'acme::1234567::auditor',
      'acme::1234567::reader',
    ]);
    const one = await jwtVerify(await idp.token('multi-client', ['acme::1234567::reader']), jwks());
    expect(one.payload.scope).toBe('acme::1234567::reader');
  });

  it('refuses scopes the client does not have, bad secrets, and grants a no-role client no scope', async () => {
    const res = await idp.tokenResponse('admin-client', { scopes: ['acme::1234567::reader'] });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'invalid_scope' });
    const bad = await idp.tokenResponse('admin-client', { clientSecret: 'wrong' });
    expect(bad.status).toBe(401);
    expect(bad.json).toMatchObject({ error: 'invalid_client' });
    const { payload } = await jwtVerify(await idp.token('no-role-client'), jwks());
    expect(payload.scope).toBeUndefined();
    expect(payload.client_id).toBe('no-role-client');
    const asked = await idp.tokenResponse('no-role-client', { scopes: ['acme::1234567::admin'] });
    expect(asked.status).toBe(400);
  });

  it('rotates its signing key on the same issuer; old tokens still verify', async () => {
    const before = await idp.token('admin-client');
    const oldKid = idp.currentKid();
    const newKid = await idp.rotateKeys();
    expect(newKid).not.toBe(oldKid);
    const after = await idp.token('admin-client');
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    const keys = jwks();
    await jwtVerify(after, keys, { issuer: idp.issuer });
    await jwtVerify(before, keys, { issuer: idp.issuer });
    const res = await httpRequest(idp.jwksUri, { ca: idp.caPem });
    expect((res.json as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([newKid, oldKid]);
  });
});
