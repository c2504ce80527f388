/**
 * In-cluster mode with the real CLI process: fail closed before any config, accept only bundles
 * signed by the operator key and newer than the one in force, persist the accepted one and enforce
 * it again right after a restart, ignore a tampered persisted file, and ask the operator for a key
 * refresh (rate-limited) when a token names an unknown kid.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiRole, AuthorizationServer } from '../../../crds/src/index.js';
import { signConfigBundle } from '../../../sidecar/src/config/bundle.js';
import { buildSidecarConfig } from '../../../sidecar/src/config/from-resources.js';
import { ensureBuilt } from './support/build.js';
import { bearer, send } from './support/client.js';
import { until } from './support/in-process.js';
import { startSidecarProcess, type SidecarProcess } from './support/sidecar-process.js';
import { AUDIENCE, CLOUD, ISSUER, mint, ORG, scope, signingKey, type SigningKey } from './support/tokens.js';
import { startUpstream, type TestUpstream } from './support/upstream.js';

const operatorKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const forgerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });

let dir: string;
let upstream: TestUpstream;
let key: SigningKey;
let operator: { url: string; refreshes: unknown[]; close(): Promise<void> };
let sidecar: SidecarProcess | undefined;

function bundleConfig(revision: number, roles = ['reader']) {
  const server: AuthorizationServer = {
    apiVersion: 'scopegate.io/v1alpha1',
    kind: 'AuthorizationServer',
    metadata: { name: 'okta', namespace: 'shop' },
    spec: {
      enabled: true,
      provider: 'Okta',
      issuer: ISSUER,
      audiences: [AUDIENCE],
      jwks: { uri: 'https://idp.test/keys' },
      allowedAlgorithms: ['RS256'],
      clockSkew: '60s',
    },
  };
  const apiRoles: ApiRole[] = roles.map((name) => ({
    apiVersion: 'scopegate.io/v1alpha1',
    kind: 'ApiRole',
    metadata: { name, namespace: 'shop' },
    spec: { permissions: [{ name: 'read', paths: ['/orders/**'], access: 'ViewOnly' }] },
  }));
  return buildSidecarConfig({
    tenant: { cloudName: CLOUD, orgId: ORG, cloudDomain: 'zscaler.net' },
    revision,
    now: new Date(),
    namespace: 'shop',
    servers: [
      { resource: server, keys: { keys: [key.publicJwk as never] }, keysFetchedAt: new Date().toISOString() },
    ],
    roles: apiRoles,
  });
}

async function startOperatorStub() {
  const refreshes: unknown[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/keys/refresh') refreshes.push(JSON.parse(body));
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    refreshes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

beforeAll(async () => {
  await ensureBuilt();
  key = await signingKey('k1');
  upstream = await startUpstream();
  operator = await startOperatorStub();
  dir = await mkdtemp(join(tmpdir(), 'scopegate-incluster-'));
  await writeFile(join(dir, 'operator.pem'), operatorKey.publicKey.export({ type: 'spki', format: 'pem' }));
});

afterEach(async () => {
  if (sidecar !== undefined) expect(await sidecar.stop()).toBe(0);
  sidecar = undefined;
});

afterAll(async () => {
  await Promise.all([upstream?.close(), operator?.close()]);
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const start = () =>
  startSidecarProcess(
    [
      '--upstream',
      upstream.url,
      '--listen',
      '127.0.0.1:0',
      '--admin',
      '127.0.0.1:0',
      '--audit-log',
      join(dir, 'audit.jsonl'),
    ],
    {
      SCOPEGATE_CONFIG_PUBLIC_KEY: join(dir, 'operator.pem'),
      SCOPEGATE_CONFIG_DIR: join(dir, 'state'),
      SCOPEGATE_OPERATOR_URL: operator.url,
    },
  );
const push = (jws: string) =>
  send(sidecar!.adminUrl, {
    method: 'PUT',
    path: '/v1/config',
    headers: ['content-type', 'application/jose'],
    body: jws,
  });
const readerCall = async () =>
  send(sidecar!.listenUrl, { path: '/orders/1', headers: bearer(await mint(key, [scope('reader')])) });

describe('in-cluster config delivery through the real CLI process', () => {
  it('answers 503 config_missing and fails readiness until a valid bundle arrives', async () => {
    sidecar = await start();
    const denied = await readerCall();
    expect(denied.status).toBe(503);
    expect(denied.json.code).toBe('config_missing');
    expect((await send(sidecar.adminUrl, { path: '/readyz' })).status).toBe(503);
    expect((await send(sidecar.adminUrl, { path: '/healthz' })).status).toBe(200);
    expect(upstream.seen).toHaveLength(0);

    const forged = await push(await signConfigBundle(bundleConfig(10), forgerKey.privateKey));
    expect(forged.status).toBe(403);
    expect(forged.json.code).toBe('config_signature_invalid');
    expect((await readerCall()).status).toBe(503);

    const accepted = await push(await signConfigBundle(bundleConfig(10), operatorKey.privateKey));
    expect(accepted.status).toBe(200);
    expect(accepted.json).toMatchObject({ revision: 10, persisted: true });
    expect((await send(sidecar.adminUrl, { path: '/readyz' })).status).toBe(200);
    expect((await readerCall()).status).toBe(200);
    const described = (await send(sidecar.adminUrl, { path: '/v1/config' })).json;
    expect(described).toMatchObject({ revision: 10, source: 'push', namespace: 'shop', roles: 1 });
    expect(described['appliedAt']).toEqual(expect.any(String));
  });

  it('refuses a replayed (equal) or rolled-back (older) revision and keeps the one in force', async () => {
    sidecar = await start(); // starts from the persisted revision 10
    expect((await send(sidecar.adminUrl, { path: '/readyz' })).json).toMatchObject({ revision: 10 });
    for (const revision of [10, 9, 1]) {
      const res = await push(await signConfigBundle(bundleConfig(revision, []), operatorKey.privateKey));
      expect(res.status).toBe(409);
      expect(res.json.code).toBe('config_revision_stale');
    }
    expect((await readerCall()).status).toBe(200);
    const newer = await push(
      await signConfigBundle(bundleConfig(11, ['reader', 'auditor']), operatorKey.privateKey),
    );
    expect(newer.status).toBe(200);
    expect((await send(sidecar.adminUrl, { path: '/v1/config' })).json).toMatchObject({
      revision: 11,
      roles: 2,
    });
  });

  it('enforces the persisted bundle right after a restart', async () => {
    sidecar = await start();
    expect((await readerCall()).status).toBe(200);
    expect((await send(sidecar.adminUrl, { path: '/v1/config' })).json).toMatchObject({
      revision: 11,
      source: 'persisted',
    });
    expect(sidecar.logs().some((l) => l['msg'] === 'applied the persisted config')).toBe(true);
  });

  it('ignores a tampered persisted file with a log line and stays closed', async () => {
    const file = join(dir, 'state', 'config.jws');
    const [header, payload, signature] = (await readFile(file, 'utf8')).split('.');
    const claims = JSON.parse(Buffer.from(payload as string, 'base64url').toString()) as { revision: number };
    claims.revision = 999;
    await writeFile(
      file,
      `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`,
    );
    sidecar = await start();
    expect((await readerCall()).json.code).toBe('config_missing');
    const line = sidecar.logs().find((l) => String(l['msg']).startsWith('ignored the persisted config'));
    expect(line).toBeDefined();
  });

  it('asks the operator for a key refresh on an unknown kid, at most once per interval', async () => {
    sidecar = await start();
    await push(await signConfigBundle(bundleConfig(20), operatorKey.privateKey));
    const other = await signingKey('k-new');
    for (let i = 0; i < 3; i++) {
      const res = await send(sidecar.listenUrl, {
        path: '/orders/1',
        headers: bearer(await mint(other, [scope('reader')])),
      });
      expect(res.json.code).toBe('key_unknown');
    }
    await until(() => operator.refreshes.length > 0 || undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(operator.refreshes).toEqual([{ namespace: 'shop', server: 'okta', kid: 'k-new' }]);
    const metrics = (await send(sidecar.adminUrl, { path: '/metrics' })).body;
    expect(metrics).toContain('scopegate_sidecar_key_refresh_requests_total{result="sent"} 1');
    expect(metrics).toContain('scopegate_sidecar_key_refresh_requests_total{result="rate_limited"} 2');
  });
});
