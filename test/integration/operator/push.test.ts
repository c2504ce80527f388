/**
 * Config delivery to real sidecar processes (`scopegate sidecar`) standing in for pods: the test
 * creates the Pod objects and reports their IPs as a kubelet would; the operator signs bundles and
 * pushes them; requests with real tokens go through the sidecars.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../operator/src/kube/client.js';
import type { RunningOperator } from '../../../operator/src/main.js';
import {
  applyCrds,
  createResource,
  createSidecarPod,
  deleteResource,
  eventually,
  freshNamespaces,
  getResource,
  kubeClient,
  mintToken,
  newRsaKey,
  operatorOptions,
  patchSpec,
  reportPodRunning,
  startJwksServer,
  startSidecar,
  startTestOperator,
  startUpstream,
  type JwksServer,
  type SidecarProcess,
  waitForCondition,
  type SigningKeyPair,
} from './harness.js';

const NS_A = 'sg-push-a';
const NS_B = 'sg-push-b';
const SYSTEM = 'sg-push-system';
const ISSUER = 'https://idp.example/oauth2/default';
const ADMIN_PORT = 15901;
const LISTEN_PORT = 15900;

let client: KubeClient;
let operator: RunningOperator;
let jwks: JwksServer;
let key1: SigningKeyPair;
let upstream: { url: string; close(): Promise<void> };
const sidecars = new Map<string, SidecarProcess>();

const operatorUrl = () => `http://127.0.0.1:${operator.httpAddress.port}`;

async function runPod(
  namespace: string,
  name: string,
  ip: string,
  labels: Record<string, string> = {},
  configDir?: string,
) {
  const sidecar = await startSidecar({
    ip,
    adminPort: ADMIN_PORT,
    listenPort: LISTEN_PORT,
    publicKeyPem: operator.signingKey.publicKeyPem,
    upstream: upstream.url,
    operatorUrl: operatorUrl(),
    ...(configDir ? { configDir } : {}),
  });
  sidecars.set(`${namespace}/${name}`, sidecar);
  if (!configDir) {
    await createSidecarPod(client, { namespace, name, ip, adminPort: ADMIN_PORT, labels });
    await reportPodRunning(client, namespace, name, ip);
  }
  return sidecar;
}

async function call(sidecar: SidecarProcess, token: string, path = '/v1/items') {
  const res = await fetch(`${sidecar.listenUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return res.status;
}

const configOf = (sidecar: SidecarProcess) => eventually('a config', () => sidecar.config());

beforeAll(async () => {
  client = await kubeClient();
  await applyCrds();
  await freshNamespaces(client, [NS_A, NS_B, SYSTEM]);
  key1 = await newRsaKey('key-1');
  jwks = await startJwksServer('127.0.0.21', [key1.jwk]);
  upstream = await startUpstream();
  for (const ns of [NS_A, NS_B]) {
    await createResource(client, 'AuthorizationServer', ns, 'idp', {
      provider: 'Okta',
      issuer: ISSUER,
      jwks: { uri: jwks.uri, caBundle: jwks.ca.caPem },
    });
  }
  await createResource(client, 'ApiRole', NS_A, 'reader', {
    permissions: [{ name: 'read', paths: ['/v1/**'], access: 'ViewOnly' }],
  });
  await createResource(client, 'ApiRole', NS_B, 'b-role', {
    permissions: [{ name: 'all', paths: ['/**'], access: 'Full' }],
  });
  operator = await startTestOperator(
    operatorOptions({ namespaces: [NS_A, NS_B], operatorNamespace: SYSTEM }),
  );
  await runPod(NS_A, 'api-1', '127.0.0.31', { app: 'api' });
  await runPod(NS_A, 'api-2', '127.0.0.32', { app: 'api' });
  await runPod(NS_B, 'other-1', '127.0.0.41', { app: 'other' });
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  await Promise.all([...sidecars.values()].map((s) => s.stop()));
  await jwks?.close();
  await upstream?.close();
  client?.close();
});

describe('config delivery to sidecars', () => {
  it('gives every sidecar the config of its own namespace only', async () => {
    const a = await configOf(sidecars.get(`${NS_A}/api-1`)!);
    const b = await configOf(sidecars.get(`${NS_B}/other-1`)!);
    expect(a).toMatchObject({ namespace: NS_A, roles: 1, authorizationServers: [{ keys: 1 }] });
    expect(b).toMatchObject({ namespace: NS_B, roles: 1 });
    expect(a.digest).not.toBe(b.digest);
    const reader = await mintToken(key1, { iss: ISSUER, scp: ['acme::1234::reader'] });
    const bRole = await mintToken(key1, { iss: ISSUER, scp: ['acme::1234::b-role'] });
    expect(await call(sidecars.get(`${NS_A}/api-1`)!, reader)).toBe(200);
    // A role of namespace B never opens namespace A's API, and vice versa.
    expect(await call(sidecars.get(`${NS_A}/api-1`)!, bRole)).toBe(403);
    expect(await call(sidecars.get(`${NS_B}/other-1`)!, reader)).toBe(403);
    expect(await call(sidecars.get(`${NS_B}/other-1`)!, bRole)).toBe(200);
  });

  it('reports in the ApiRole how many sidecars run the current revision', async () => {
    const role = await eventually('sidecars counted', async () => {
      const r = await getResource(client, 'ApiRole', NS_A, 'reader');
      const s = r.status?.['sidecars'] as
        { selected: number; current: number; revision?: number } | undefined;
      return s?.selected === 2 && s.current === 2 ? r : undefined;
    });
    const a1 = await configOf(sidecars.get(`${NS_A}/api-1`)!);
    expect((role.status?.['sidecars'] as { revision: number }).revision).toBe(a1.revision);
  });

  it('pushes a changed role to every selected sidecar with a higher revision', async () => {
    const before = await configOf(sidecars.get(`${NS_A}/api-1`)!);
    const reader = await mintToken(key1, { iss: ISSUER, scp: ['acme::1234::reader'] });
    expect(await call(sidecars.get(`${NS_A}/api-1`)!, reader, '/v2/items')).toBe(403);
    await patchSpec(client, 'ApiRole', NS_A, 'reader', {
      permissions: [{ name: 'read', paths: ['/v1/**', '/v2/**'], access: 'ViewOnly' }],
    });
    for (const name of ['api-1', 'api-2']) {
      await eventually(
        `${name} to allow /v2`,
        async () => (await call(sidecars.get(`${NS_A}/${name}`)!, reader, '/v2/items')) === 200,
        10_000,
      );
    }
    const after = await configOf(sidecars.get(`${NS_A}/api-1`)!);
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.digest).not.toBe(before.digest);
    // namespace B was not touched
    expect((await configOf(sidecars.get(`${NS_B}/other-1`)!)).roles).toBe(1);
  });

  it('gives a new pod the current config', async () => {
    const newcomer = await runPod(NS_A, 'api-3', '127.0.0.33', { app: 'api' });
    const expected = await configOf(sidecars.get(`${NS_A}/api-1`)!);
    await eventually(
      'the new sidecar to run the current config',
      async () => (await newcomer.config())?.digest === expected.digest,
      10_000,
    );
  });

  it('removes a deleted role from the sidecars', async () => {
    await createResource(client, 'ApiRole', NS_A, 'temp', {
      permissions: [{ name: 'x', paths: ['/tmp/**'], access: 'Full' }],
    });
    await eventually(
      'temp to arrive',
      async () => (await sidecars.get(`${NS_A}/api-2`)!.config())?.roles === 2,
      10_000,
    );
    const temp = await mintToken(key1, { iss: ISSUER, scp: ['acme::1234::temp'] });
    expect(await call(sidecars.get(`${NS_A}/api-2`)!, temp, '/tmp/x')).toBe(200);
    await deleteResource(client, 'ApiRole', NS_A, 'temp');
    await eventually(
      'temp to be gone',
      async () => (await sidecars.get(`${NS_A}/api-2`)!.config())?.roles === 1,
      10_000,
    );
    expect(await call(sidecars.get(`${NS_A}/api-2`)!, temp, '/tmp/x')).toBe(403);
  });

  it('makes a key rotated at the identity provider work everywhere within seconds', async () => {
    const key2 = await newRsaKey('key-2');
    jwks.keys = [key1.jwk, key2.jwk];
    const token = await mintToken(key2, { iss: ISSUER, scp: ['acme::1234::reader'] });
    const sidecar = sidecars.get(`${NS_A}/api-1`)!;
    const started = Date.now();
    // The first request names an unknown kid: denied, and the sidecar asks the operator to refetch.
    expect(await call(sidecar, token)).toBe(401);
    await eventually(
      'the rotated key to be accepted',
      async () => (await call(sidecar, token)) === 200,
      10_000,
      200,
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(5000);
    for (const name of ['api-2', 'api-3']) {
      await eventually(
        `${name} to accept the rotated key`,
        async () => (await call(sidecars.get(`${NS_A}/${name}`)!, token)) === 200,
        5000,
      );
    }
  });

  it('keeps a restarted sidecar on its config, and repairs one that lost it', async () => {
    const old = sidecars.get(`${NS_A}/api-2`)!;
    const before = await configOf(old);
    await old.stop();
    // Restart with the same emptyDir: it reloads its last bundle from disk at once.
    const again = await runPod(NS_A, 'api-2', '127.0.0.32', {}, old.configDir);
    expect((await configOf(again)).revision).toBe(before.revision);
    // Restart with the config lost: the kubelet reports the restart, the operator pushes again.
    await again.stop();
    fs.rmSync(again.configDir, { recursive: true, force: true });
    fs.mkdirSync(again.configDir);
    const fresh = await runPod(NS_A, 'api-2', '127.0.0.32', {}, again.configDir);
    await reportPodRunning(client, NS_A, 'api-2', '127.0.0.32', 2);
    await eventually(
      'the config to be pushed again',
      async () => (await fresh.config())?.digest === before.digest,
      10_000,
    );
  });

  it('loses nothing when the operator restarts, and its next revisions keep going up', async () => {
    const before = await Promise.all(
      ['api-1', 'api-2', 'api-3'].map((n) => configOf(sidecars.get(`${NS_A}/${n}`)!)),
    );
    const pushesBefore = before.map((c) => c.revision);
    await operator.stop();
    operator = await startTestOperator(
      operatorOptions({ namespaces: [NS_A, NS_B], operatorNamespace: SYSTEM }),
    );
    // The sidecars kept their config all along; the new operator finds them in sync.
    await eventually('the new operator to count the sidecars', async () => {
      const r = await getResource(client, 'ApiRole', NS_A, 'reader');
      const s = r.status?.['sidecars'] as { selected: number; current: number } | undefined;
      return s?.selected === 3 && s.current === 3;
    });
    const same = await Promise.all(
      ['api-1', 'api-2', 'api-3'].map((n) => configOf(sidecars.get(`${NS_A}/${n}`)!)),
    );
    expect(same.map((c) => c.revision)).toEqual(pushesBefore);
    await patchSpec(client, 'ApiRole', NS_A, 'reader', {
      permissions: [{ name: 'read', paths: ['/v1/**'], access: 'ViewOnly' }],
    });
    const highest = Math.max(...pushesBefore);
    await eventually(
      'a newer revision everywhere',
      async () => {
        const now = await Promise.all(
          ['api-1', 'api-2', 'api-3'].map((n) => configOf(sidecars.get(`${NS_A}/${n}`)!)),
        );
        return now.every((c) => c.revision > highest);
      },
      10_000,
    );
  });

  it('keeps the last good keys across an operator restart while the identity provider is down', async () => {
    jwks.mode = 'down';
    await operator.stop();
    operator = await startTestOperator(
      operatorOptions({ namespaces: [NS_A, NS_B], operatorNamespace: SYSTEM }),
    );
    const server = await waitForCondition(client, 'AuthorizationServer', NS_A, 'idp', 'KeysFetched', {
      status: 'False',
      reason: 'HttpError',
    });
    expect(server.status?.['keyCount']).toBe(2);
    // A change made during the outage still reaches the sidecars, with the keys from before it.
    await patchSpec(client, 'ApiRole', NS_A, 'reader', {
      permissions: [{ name: 'read', paths: ['/v1/**', '/v3/**'], access: 'ViewOnly' }],
    });
    const token = await mintToken(key1, { iss: ISSUER, scp: ['acme::1234::reader'] });
    for (const name of ['api-1', 'api-2', 'api-3']) {
      await eventually(
        `${name} to allow /v3 with the old keys`,
        async () => (await call(sidecars.get(`${NS_A}/${name}`)!, token, '/v3/x')) === 200,
        10_000,
      );
    }
    jwks.mode = 'up';
  });
});
