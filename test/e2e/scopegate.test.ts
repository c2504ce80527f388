/**
 * scopegate end to end, on real parts only: the run's kube-apiserver (globalSetup), CRDs applied with
 * kubectl, the operator and its injection webhook as a real process, oidc-provider issuing
 * client-credentials JWTs, Okta/Entra ID/PingFederate-shaped tokens, the sample API in an injected pod
 * whose containers the fake kubelet runs on 127.0.0.101, and Prometheus scraping it all.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpRequest } from '../support/http-client.js';
import { SIDECAR_CONTAINER, startScenario, type CallResult, type Scenario } from '../support/scenario.js';
import {
  adminId,
  APP_NAMESPACE,
  APP_POD,
  APP_POD_IP,
  CALLERS,
  scope,
  SIDECAR_IMAGE,
  STANDARD_CALLS,
  TENANT,
} from '../support/scenario-resources.js';

interface Conditioned {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string; reason?: string }[] } & Record<string, unknown>;
}
const condition = (o: Conditioned, type: string) => o.status?.conditions?.find((c) => c.type === type);

describe('scopegate end to end', () => {
  let s: Scenario;
  let workDir: string;
  let results: CallResult[];

  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-e2e-'));
    s = await startScenario({ kubeconfig: inject('kubeconfigPath'), workDir });
    results = await s.runCalls(STANDARD_CALLS);
  });
  afterAll(async () => {
    await s?.stop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('reports each ApiRole with its scope string, admin ID and Ready', async () => {
    const roles = JSON.parse(
      (await s.kubectl(['get', 'apiroles', '-n', APP_NAMESPACE, '-o', 'json'])).stdout,
    ) as {
      items: Conditioned[];
    };
    const byName = Object.fromEntries(roles.items.map((r) => [r.metadata.name, r]));
    for (const role of ['admin', 'reader']) {
      expect(byName[role]?.status).toMatchObject({ scope: scope(role), adminId: adminId(role) });
      expect(condition(byName[role]!, 'Ready')?.status).toBe('True');
    }
    expect(adminId('admin')).toBe(`oauth-admin$@${TENANT.orgId}.${TENANT.cloudDomain}`);
  });

  it('reports every AuthorizationServer Ready with the keys it fetched over HTTPS', async () => {
    const servers = JSON.parse(
      (await s.kubectl(['get', 'authorizationservers', '-n', APP_NAMESPACE, '-o', 'json'])).stdout,
    ) as { items: Conditioned[] };
    expect(servers.items.map((x) => x.metadata.name).sort()).toEqual([
      'corp-idp',
      'entra',
      'entra-v2',
      'okta',
      'pingfederate',
    ]);
    for (const server of servers.items) {
      expect(condition(server, 'Ready')?.status, server.metadata.name).toBe('True');
      expect(condition(server, 'KeysFetched')?.status, server.metadata.name).toBe('True');
    }
    const idpServer = servers.items.find((x) => x.metadata.name === 'corp-idp')!;
    expect(JSON.stringify(idpServer.status)).toContain(s.idp.currentKid());
  });

  it('injected the sidecar through the webhook, and the pod runs it on its pod IP', async () => {
    const pod = JSON.parse(
      (await s.kubectl(['get', 'pod', APP_POD, '-n', APP_NAMESPACE, '-o', 'json'])).stdout,
    ) as {
      spec: { containers: { name: string; image: string }[] };
      status: { podIP: string; conditions: { type: string; status: string }[] };
    };
    expect(pod.spec.containers.map((c) => c.name)).toEqual(['app', SIDECAR_CONTAINER]);
    expect(pod.spec.containers[1]!.image).toBe(SIDECAR_IMAGE);
    expect(pod.status.podIP).toBe(APP_POD_IP);
    expect(pod.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect((await httpRequest(`${s.sidecarAdminUrl}/readyz`)).status).toBe(200);
  });

  it('allows and denies each call with the right status and reason', () => {
    const got = results.map((r) => `${r.caller} ${r.method} ${r.path} → ${r.status} ${r.reason}`);
    const want = STANDARD_CALLS.map((c) => `${c.caller} ${c.method} ${c.path} → ${c.status} ${c.reason}`);
    expect(got).toEqual(want);
  });

  it('denies with RFC 6750 challenges and JSON errors, and proxies the identity headers to the app', async () => {
    const none = await httpRequest(`${s.apiUrl}/v1/items`);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    const reader = results.find((r) => r.caller === 'reader' && r.method === 'POST')!;
    expect(reader.body).toMatchObject({ code: 'permission_denied', message: expect.any(String) });
    const forged = results.find((r) => r.caller === 'forged')!;
    expect(forged.reason).toBe('signature_invalid');
    const adminCall = results.find((r) => r.caller === 'admin' && r.status === 200)!;
    expect(adminCall.body).toMatchObject({
      identity: {
        authorizationForwarded: false,
        headers: {
          'x-scopegate-client-id': 'inventory-admin',
          'x-scopegate-admin-id': adminId('admin'),
          'x-scopegate-roles': expect.stringContaining('admin'),
        },
      },
    });
    const entra = results.find((r) => r.caller === 'entra-admin')!;
    expect(entra.body).toMatchObject({
      identity: { headers: { 'x-scopegate-client-id': CALLERS['entra-admin'].clientId } },
    });
  });

  it('writes one audit record per decision, with the admin ID and never the token', async () => {
    const records = s.auditRecords();
    const byId = new Map(records.map((r) => [r.requestId, r]));
    for (const r of results) {
      const record = byId.get(r.requestId);
      expect(record, `${r.caller} ${r.method} ${r.path}`).toBeDefined();
      expect(record).toMatchObject({
        decision: r.status < 400 ? 'allow' : 'deny',
        reason: r.reason,
        status: r.status,
      });
    }
    const adminRecord = byId.get(
      results.find((r) => r.caller === 'admin' && r.method === 'POST')!.requestId,
    )!;
    expect(adminRecord).toMatchObject({
      adminId: adminId('admin'),
      clientId: 'inventory-admin',
      issuer: s.idp.issuer,
      method: 'POST',
      path: '/v1/items',
    });
    const readerRecord = byId.get(
      results.find((r) => r.caller === 'okta-reader' && r.status === 200)!.requestId,
    )!;
    expect(readerRecord).toMatchObject({ adminId: adminId('reader'), server: `${APP_NAMESPACE}/okta` });
    const logs = s.pod.logs(SIDECAR_CONTAINER);
    for (const caller of ['admin', 'reader', 'okta-reader', 'ping-admin'] as const) {
      const token = await s.token(caller);
      expect(logs.includes(token!.split('.')[2]!), `${caller}'s token signature in the sidecar log`).toBe(
        false,
      );
    }
  });

  it('counts the decisions in Prometheus', async () => {
    const denied = await s.prometheus.waitFor(
      'sum(scopegate_sidecar_requests_total{decision="deny",reason="scope_missing"})',
      (v) => (v[0]?.value ?? 0) >= 2,
    );
    expect(denied[0]!.value).toBeGreaterThanOrEqual(2);
    await s.prometheus.waitFor(
      'sum(scopegate_sidecar_requests_total{decision="allow"})',
      (v) => (v[0]?.value ?? 0) >= 8,
    );
    const up = await s.prometheus.query('up');
    expect(up.map((x) => [x.metric.job, x.value]).sort()).toEqual([
      ['scopegate-operator', 1],
      ['scopegate-sidecar', 1],
    ]);
    await s.prometheus.waitFor('sum(scopegate_operator_config_push_total)', (v) => (v[0]?.value ?? 0) >= 1);
  });

  it("evaluates the chart's alert rules on the real metrics: healthy, and no leader or sync alert", async () => {
    await expect
      .poll(async () => (await s.prometheus.rules()).every((r) => r.health === 'ok'), { timeout: 20_000 })
      .toBe(true);
    const alerts = Object.fromEntries(
      (await s.prometheus.rules()).filter((r) => r.type === 'alerting').map((r) => [r.name, r.state]),
    );
    expect(Object.keys(alerts)).toContain('ScopegateNoLeader');
    expect(alerts).toMatchObject({
      ScopegateNoLeader: 'inactive',
      ScopegateSidecarsOutOfSync: 'inactive',
      ScopegateJwksFetchFailing: 'inactive',
    });
  });

  it('applies a role change without restarting anything', async () => {
    const before = JSON.parse(
      (await s.kubectl(['get', 'pod', APP_POD, '-n', APP_NAMESPACE, '-o', 'json'])).stdout,
    );
    const { propagationMs } = await s.grantReaderPost();
    expect(propagationMs).toBeLessThan(30_000);
    const after = JSON.parse(
      (await s.kubectl(['get', 'pod', APP_POD, '-n', APP_NAMESPACE, '-o', 'json'])).stdout,
    );
    const ids = (p: { status: { containerStatuses: { containerID: string; restartCount: number }[] } }) =>
      p.status.containerStatuses.map((c) => [c.containerID, c.restartCount]);
    expect(ids(after)).toEqual(ids(before));
    expect((await s.call({ caller: 'reader', method: 'GET', path: '/v1/admin/settings' })).status).toBe(403);
  });

  it('accepts tokens signed by a rotated IdP key (the sidecar asks the operator for the new keys)', async () => {
    const { acceptedAfterMs } = await s.rotateIdpKeys();
    expect(acceptedAfterMs).toBeLessThan(60_000);
    expect((await s.call({ caller: 'admin', method: 'GET', path: '/v1/items' })).status).toBe(200);
  });
});
