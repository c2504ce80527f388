import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildAdminApp } from '../../../sidecar/src/admin/admin-app.js';
import { signConfigBundle } from '../../../sidecar/src/config/bundle.js';
import { BundleFile } from '../../../sidecar/src/incluster/bundle-file.js';
import { InClusterConfigSource } from '../../../sidecar/src/incluster/incluster-source.js';
import { config, rsaKey, runtime, type TestKey } from './fixtures.js';

const operatorKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const forgerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let key: TestKey;
let dir: string;
let app: FastifyInstance | undefined;
beforeAll(async () => {
  key = await rsaKey('k1');
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function setup() {
  dir = await mkdtemp(join(tmpdir(), 'scopegate-admin-'));
  const rt = runtime();
  const bundleFile = new BundleFile(dir);
  await bundleFile.prepare();
  const source = new InClusterConfigSource({
    publicKey: operatorKey.publicKey,
    bundleFile,
    store: rt.store,
    logger: rt.logger,
    metrics: rt.metrics,
  });
  app = await buildAdminApp({ ...rt, acceptBundle: (jws) => source.accept(jws) });
  return { ...rt, app, source, bundleFile };
}

const put = (app: FastifyInstance, body: string, contentType = 'application/jose') =>
  app.inject({ method: 'PUT', url: '/v1/config', headers: { 'content-type': contentType }, payload: body });

describe('admin API', () => {
  it('is not ready and has no config until a bundle is pushed', async () => {
    const { app } = await setup();
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    expect((await app.inject('/v1/config')).statusCode).toBe(404);
  });

  it('accepts a signed bundle, persists it and reports it', async () => {
    const { app, bundleFile } = await setup();
    const jws = await signConfigBundle(config([key.jwk], 3), operatorKey.privateKey);
    const res = await put(app, jws);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      revision: 3,
      persisted: true,
      digest: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(await readFile(bundleFile.path, 'utf8')).toBe(jws);
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready', revision: 3 });
    const described = (await app.inject('/v1/config')).json();
    expect(described).toMatchObject({
      revision: 3,
      source: 'push',
      namespace: 'shop',
      roles: 2,
      authorizationServers: [{ server: 'shop/idp', enabled: true, keys: 1 }],
    });
    expect(JSON.stringify(described)).not.toContain(String(key.jwk.n));
  });

  it('refuses a forged bundle (403), a replay or rollback (409), bad media (415) and garbage (400)', async () => {
    const { app, metrics } = await setup();
    expect(
      (await put(app, await signConfigBundle(config([key.jwk], 5), operatorKey.privateKey))).statusCode,
    ).toBe(200);
    const forged = await put(app, await signConfigBundle(config([key.jwk], 9), forgerKey.privateKey));
    expect(forged.statusCode).toBe(403);
    expect(forged.json().code).toBe('config_signature_invalid');
    for (const revision of [5, 4]) {
      const replay = await put(
        app,
        await signConfigBundle(config([key.jwk], revision), operatorKey.privateKey),
      );
      expect(replay.statusCode).toBe(409);
      expect(replay.json().code).toBe('config_revision_stale');
    }
    expect((await put(app, 'x', 'application/json')).statusCode).toBe(415);
    expect((await put(app, 'not-a-jws')).json().code).toBe('config_invalid');
    expect((await app.inject('/v1/config')).json().revision).toBe(5);
    const reloads = await metrics.registry.getSingleMetricAsString('scopegate_sidecar_config_reloads_total');
    expect(reloads).toContain('{source="push",result="stale"} 2');
    expect(reloads).toContain('{source="push",result="signature_invalid"} 1');
  });

  it('reloads a persisted bundle at start and ignores a tampered one', async () => {
    const first = await setup();
    const jws = await signConfigBundle(config([key.jwk], 7), operatorKey.privateKey);
    await put(first.app, jws);

    const again = runtime();
    const source = new InClusterConfigSource({
      publicKey: operatorKey.publicKey,
      bundleFile: first.bundleFile,
      store: again.store,
      logger: again.logger,
      metrics: again.metrics,
    });
    await source.loadPersisted();
    expect(again.store.revision).toBe(7);

    const [h, p] = jws.split('.');
    await writeFile(first.bundleFile.path, `${h}.${p}.${'A'.repeat(86)}`);
    const tampered = runtime();
    await new InClusterConfigSource({
      publicKey: operatorKey.publicKey,
      bundleFile: first.bundleFile,
      store: tampered.store,
      logger: tampered.logger,
      metrics: tampered.metrics,
    }).loadPersisted();
    expect(tampered.store.current).toBeUndefined();
  });

  it('refuses pushes in standalone mode and serves metrics', async () => {
    const rt = runtime();
    app = await buildAdminApp(rt);
    expect((await put(app, 'x')).json().code).toBe('config_push_disabled');
    const metrics = await app.inject('/metrics');
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('scopegate_sidecar_build_info{version="test"');
    expect((await app.inject('/nope')).json().code).toBe('not_found');
  });
});
