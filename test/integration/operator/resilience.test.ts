/**
 * What must not break: the API server restarting under the operator's watches, and the leader
 * dying (two operator processes, one Lease) without a gap in enforcement.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../operator/src/kube/client.js';
import type { RunningOperator } from '../../../operator/src/main.js';
import { startControlPlane, type ControlPlane } from '../../support/control-plane.js';
import {
  applyCrds,
  createResource,
  createSidecarPod,
  eventually,
  freshNamespaces,
  getResource,
  httpGet,
  kubeClient,
  kubeconfigPath,
  mintToken,
  newRsaKey,
  operatorOptions,
  patchSpec,
  reportPodRunning,
  spawnOperator,
  startSidecar,
  startTestOperator,
  startUpstream,
  TENANT,
  waitForCondition,
  type OperatorProcess,
  type SidecarProcess,
} from './harness.js';

const ROLE = { permissions: [{ name: 'read', paths: ['/v1/**'], access: 'ViewOnly' }] };

describe('the API server restarting mid-watch', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let operator: RunningOperator;

  beforeAll(async () => {
    cp = await startControlPlane();
    client = await kubeClient(cp.kubeconfigPath);
    await applyCrds(cp.kubeconfigPath);
    await freshNamespaces(client, ['restart-a', 'restart-system']);
    operator = await startTestOperator(
      operatorOptions({
        namespaces: ['restart-a'],
        operatorNamespace: 'restart-system',
        argv: ['--kubeconfig', cp.kubeconfigPath],
      }),
    );
  }, 120_000);

  afterAll(async () => {
    await operator?.stop();
    client?.close();
    await cp?.stop();
  });

  it('keeps watching after kube-apiserver restarts, without a relist by hand', async () => {
    const key = await newRsaKey('k');
    await createResource(client, 'AuthorizationServer', 'restart-a', 'idp', {
      provider: 'Generic',
      issuer: 'https://idp.example',
      jwks: { inline: { keys: [key.jwk] } },
    });
    await createResource(client, 'ApiRole', 'restart-a', 'before', ROLE);
    await waitForCondition(client, 'ApiRole', 'restart-a', 'before', 'Ready', { status: 'True' });

    await cp.restartApiServer();

    // Created after the restart: only a watch that came back can see it.
    await createResource(client, 'ApiRole', 'restart-a', 'after', ROLE);
    await waitForCondition(client, 'ApiRole', 'restart-a', 'after', 'Ready', { status: 'True' }, 45_000);
    const metrics = await operator.metrics.registry.getSingleMetricAsString(
      'scopegate_operator_informer_restarts_total',
    );
    expect(metrics).toMatch(/resource="apiroles"\} [1-9]/);
    expect(operator.isReady()).toBe(true);
  });
});

describe('leader failover between two operator processes', () => {
  const NS = 'sg-ha-a';
  const SYSTEM = 'sg-ha-system';
  const ISSUER = 'https://ha-idp.example';
  let client: KubeClient;
  const operators: OperatorProcess[] = [];
  let sidecar: SidecarProcess;
  let upstream: { url: string; close(): Promise<void> };

  const isLeader = async (op: OperatorProcess) => {
    try {
      return /^scopegate_operator_leader 1$/m.test(
        (await httpGet(`http://127.0.0.1:${op.port}/metrics`)).body,
      );
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    client = await kubeClient();
    await applyCrds();
    await freshNamespaces(client, [NS, SYSTEM]);
    upstream = await startUpstream();
    const args = (identity: string) => [
      '--cloud',
      TENANT.cloudName,
      '--org-id',
      TENANT.orgId,
      '--cloud-domain',
      TENANT.cloudDomain,
      '--namespaces',
      NS,
      '--namespace',
      SYSTEM,
      '--kubeconfig',
      kubeconfigPath(),
      '--identity',
      identity,
      '--log-level',
      'warn',
      '--anti-entropy-interval',
      '5s',
    ];
    operators.push(await spawnOperator(args('op-a'), 18081));
    operators.push(await spawnOperator(args('op-b'), 18082));
  }, 120_000);

  afterAll(async () => {
    for (const op of operators) await op.kill('SIGKILL');
    await sidecar?.stop();
    await upstream?.close();
    client?.close();
  });

  it('has one leader; a standby takes over within 15 s of its death, with no gap and revisions going up', async () => {
    const key = await newRsaKey('k1');
    await createResource(client, 'AuthorizationServer', NS, 'idp', {
      provider: 'Okta',
      issuer: ISSUER,
      jwks: { inline: { keys: [key.jwk] } },
    });
    await createResource(client, 'ApiRole', NS, 'reader', ROLE);
    const leader = await eventually('a leader', async () => {
      const flags = await Promise.all(operators.map(isLeader));
      return flags.filter(Boolean).length === 1 ? operators[flags.indexOf(true)] : undefined;
    });
    const standby = operators.find((o) => o !== leader)!;
    expect((await httpGet(`http://127.0.0.1:${standby.port}/readyz`)).status).toBe(200);

    const publicKey = await eventually('the published public key', async () => {
      const cm = await client.request<{ data?: Record<string, string> }>(
        'GET',
        `/api/v1/namespaces/${SYSTEM}/configmaps/scopegate-config-public-key`,
      );
      return cm.data?.['public-key.pem'];
    });
    sidecar = await startSidecar({
      ip: '127.0.0.51',
      adminPort: 15901,
      listenPort: 15900,
      publicKeyPem: publicKey,
      upstream: upstream.url,
      operatorUrl: `http://127.0.0.1:${leader!.port}`,
    });
    await createSidecarPod(client, { namespace: NS, name: 'api-1', ip: '127.0.0.51', adminPort: 15901 });
    await reportPodRunning(client, NS, 'api-1', '127.0.0.51');
    const first = await eventually('the first config', () => sidecar.config());
    const token = await mintToken(key, { iss: ISSUER, scp: ['acme::1234::reader'] });
    expect(
      (await fetch(`${sidecar.listenUrl}/v1/x`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);

    const killedAt = Date.now();
    await leader!.kill('SIGKILL');
    // Enforcement goes on while nobody leads: the sidecar keeps its config.
    expect(
      (await fetch(`${sidecar.listenUrl}/v1/x`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    await eventually('the standby to lead', () => isLeader(standby), 20_000, 250);
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(15_000);

    await patchSpec(client, 'ApiRole', NS, 'reader', {
      permissions: [{ name: 'read', paths: ['/v1/**', '/v2/**'], access: 'ViewOnly' }],
    });
    const next = await eventually(
      'the new leader to push',
      async () => {
        const c = await sidecar.config();
        return c && c.digest !== first.digest ? c : undefined;
      },
      15_000,
    );
    expect(next.revision).toBeGreaterThan(first.revision);
    const role = await getResource(client, 'ApiRole', NS, 'reader');
    expect(role.status?.['sidecars']).toMatchObject({ selected: 1 });
    console.log(`[failover] standby took over ${takeoverMs} ms after the leader was killed`);
  });
});
