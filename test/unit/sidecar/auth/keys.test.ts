import { describe, expect, it } from 'vitest';
import type { Algorithm } from '../../../../crds/src/index.js';
import { importServerKeys, selectKey } from '../../../../sidecar/src/auth/keys.js';
import { buildSidecarConfig } from '../../../../sidecar/src/config/from-resources.js';
import { decide } from '../../../../sidecar/src/pipeline/decide.js';
import { authorizationServer, compiledFor, makeKey, mint, NOW, request, scope, TENANT } from '../builders.js';

async function serverWith(
  keys: Awaited<ReturnType<typeof makeKey>>['jwk'][],
  allowedAlgorithms: Algorithm[],
) {
  const config = buildSidecarConfig({
    tenant: TENANT,
    revision: 1,
    now: NOW,
    servers: [{ resource: authorizationServer('idp', { allowedAlgorithms }), keys: { keys } }],
    roles: [],
  });
  return config.authorizationServers[0]!;
}

describe('importServerKeys', () => {
  it('imports each key for every allowed algorithm it fits', async () => {
    const rsa = await makeKey('rsa');
    const ec = await makeKey('ec', 'ES256');
    const { keys, problems } = await importServerKeys(
      await serverWith([rsa.jwk, ec.jwk], ['RS256', 'PS256', 'ES256']),
    );
    expect(keys.map((k) => `${k.kid}:${k.alg}`).sort()).toEqual(['ec:ES256', 'rsa:PS256', 'rsa:RS256']);
    expect(problems).toEqual([]);
  });

  it("honours a key's own alg and reports keys that fit no allowed algorithm", async () => {
    const rsa = await makeKey('rsa');
    const ec = await makeKey('ec', 'ES384');
    const server = await serverWith([{ ...rsa.jwk, alg: 'PS256' }, ec.jwk], ['RS256', 'PS256', 'ES256']);
    const { keys, problems } = await importServerKeys(server);
    expect(keys.map((k) => `${k.kid}:${k.alg}`)).toEqual(['rsa:PS256']);
    expect(problems).toEqual([expect.stringMatching(/key ec fits none of the allowed algorithms/)]);
  });

  it('reports a broken key without failing the others', async () => {
    const rsa = await makeKey('good');
    const offCurve = { kty: 'EC', kid: 'bad', crv: 'P-256', x: 'AAAA', y: 'AAAA' } as const;
    const server = await serverWith([rsa.jwk, offCurve], ['RS256', 'ES256']);
    const { keys, problems } = await importServerKeys(server);
    expect(keys.map((k) => k.kid)).toEqual(['good']);
    expect(problems).toEqual([expect.stringMatching(/key bad cannot be used with ES256/)]);
  });
});

describe('selectKey', () => {
  it('picks by kid, then by algorithm', async () => {
    const a = await makeKey('a');
    const b = await makeKey('b');
    const { keys } = await importServerKeys(await serverWith([a.jwk, b.jwk], ['RS256', 'PS256']));
    expect(selectKey(keys, 'b', 'PS256')).toMatchObject({ ok: true, key: { kid: 'b', alg: 'PS256' } });
    expect(selectKey(keys, 'c', 'RS256')).toMatchObject({
      ok: false,
      reason: 'key_unknown',
      unknownKid: 'c',
    });
    expect(selectKey(keys, 'a', 'ES256')).toMatchObject({ ok: false, reason: 'signature_invalid' });
    expect(selectKey(keys, undefined, 'RS256')).toMatchObject({ ok: false, reason: 'key_unknown' });
    expect(selectKey(keys.slice(0, 2), undefined, 'RS256')).toMatchObject({ ok: true, key: { kid: 'a' } });
  });
});

describe('every supported algorithm verifies end to end', () => {
  it.each([
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'EdDSA',
  ] as const)('%s', async (alg) => {
    const key = await makeKey(`k-${alg}`, alg);
    const compiled = await compiledFor([
      { resource: authorizationServer('idp', { allowedAlgorithms: [alg] }), keys: [key.jwk] },
    ]);
    expect(compiled.warnings).toEqual([]);
    const decision = await decide(compiled, request(await mint(key, { scope: scope('admin') })), NOW);
    expect(decision).toMatchObject({ allow: true, reason: 'allowed' });
  });
});
