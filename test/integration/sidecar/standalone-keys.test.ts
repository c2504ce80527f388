/**
 * Standalone key handling against a real HTTPS JWKS endpoint (private CA in caBundle): a rotated
 * key is accepted within the unknown-kid cooldown (5 s), random kids cannot make the sidecar hammer
 * the identity provider, and an outage leaves the last good keys in force.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, send } from './support/client.js';
import { startInProcess, until, type InProcessSidecar } from './support/in-process.js';
import { startJwksServer, type JwksServer } from './support/jwks-server.js';
import { resourcesYaml } from './support/resources.js';
import { mint, scope, signingKey, type SigningKey } from './support/tokens.js';
import { startUpstream, type TestUpstream } from './support/upstream.js';

let dir: string;
let upstream: TestUpstream;
let jwks: JwksServer;
let sidecar: InProcessSidecar;
let k1: SigningKey;

beforeAll(async () => {
  k1 = await signingKey('k1');
  [upstream, jwks] = await Promise.all([startUpstream(), startJwksServer([k1.publicJwk])]);
  dir = await mkdtemp(join(tmpdir(), 'scopegate-keys-'));
  const resources = join(dir, 'resources.yaml');
  await writeFile(resources, resourcesYaml({ jwksUri: jwks.uri, caPem: jwks.caPem }));
  sidecar = await startInProcess({ upstream: upstream.url, resources }, { jwksRetryAfterFailureMs: 60_000 });
});

afterAll(async () => {
  await sidecar?.close();
  await Promise.all([upstream?.close(), jwks?.close()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const call = async (key: SigningKey) =>
  (await send(sidecar.listenUrl, { path: '/orders/1', headers: bearer(await mint(key, [scope('reader')])) }))
    .status;
const config = async () => (await send(sidecar.adminUrl, { path: '/v1/config' })).json;
const metric = async (name: string) => {
  const body = (await send(sidecar.adminUrl, { path: '/metrics' })).body;
  return body.split('\n').filter((line) => line.startsWith(name));
};

describe('standalone keys from a real HTTPS JWKS endpoint', () => {
  it('fetched the keys at start through the private CA', async () => {
    expect(await call(k1)).toBe(200);
    expect(await config()).toMatchObject({
      revision: 1,
      authorizationServers: expect.arrayContaining([
        expect.objectContaining({ server: 'shop/okta', keys: 1 }),
      ]),
    });
    expect(await metric('scopegate_sidecar_server_keys')).toContain(
      'scopegate_sidecar_server_keys{server="shop/okta"} 1',
    );
  });

  it('accepts a rotated key within 5 s of its first use (unknown-kid refetch)', async () => {
    const k2 = await signingKey('k2');
    jwks.setKeys([k1.publicJwk, k2.publicJwk]);
    const firstUse = Date.now();
    await until(async () => (await call(k2)) === 200 || undefined, 6000);
    expect(Date.now() - firstUse).toBeLessThan(5500);
    expect(await call(k1)).toBe(200);
    expect((await config()).revision).toBeGreaterThanOrEqual(2);
  });

  it('fetches at most once per cooldown however many unknown kids arrive', async () => {
    await new Promise((resolve) => setTimeout(resolve, 5100)); // let the cooldown of the rotation pass
    const before = jwks.fetches;
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => call({ ...k1, kid: `random-${i}` })),
    );
    expect(statuses.every((s) => s === 401)).toBe(true);
    expect(jwks.fetches - before).toBeLessThanOrEqual(1);
  });

  it('keeps the last good keys through an outage of the JWKS endpoint', async () => {
    jwks.setDown(true);
    const before = jwks.fetches;
    // The refetch happens now, or when the cooldown left by the previous test ends.
    expect(await call({ ...k1, kid: 'unknown-during-outage' })).toBe(401);
    await until(() => jwks.fetches > before || undefined, 7000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await call(k1)).toBe(200);
    expect(
      await metric('scopegate_sidecar_jwks_fetches_total{server="shop/okta",result="http_error"}'),
    ).toHaveLength(1);
    const servers = (await config()).authorizationServers as { server: string; keys: number }[];
    expect(servers.find((s) => s.server === 'shop/okta')?.keys).toBe(2);
    expect(
      sidecar.logs.some((l) => l['msg'] === 'fetching signing keys failed; keeping the last good keys'),
    ).toBe(true);
    jwks.setDown(false);
  });
});
