/**
 * What the operator's integration tests share: a client for the real API server, CRDs applied, a
 * stand-in kubelet (Pod objects whose status the test reports, backed by real sidecar processes on
 * 127.0.0.x), HTTPS JWKS servers with a private CA, and operators started in-process or as processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { pino } from 'pino';
import {
  createKubeClient,
  isConflict,
  isNotFound,
  MERGE_PATCH,
  type KubeClient,
} from '../../../operator/src/kube/client.js';
import { startOperator, type RunningOperator } from '../../../operator/src/main.js';
import { parseOperatorOptions, type OperatorOptions } from '../../../operator/src/options.js';
import { kubectl } from '../../support/control-plane.js';
import { createTestCa, type TestCa } from '../../support/test-ca.js';

export const REPO = path
  .resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
  .replace(/\/dist$/, '');
export const CLI = path.join(REPO, 'dist/operator/src/cli.js');
export const TENANT = { cloudName: 'acme', orgId: '1234', cloudDomain: 'acme.example' };

export function kubeconfigPath(): string {
  const p = process.env.SCOPEGATE_TEST_KUBECONFIG;
  if (!p)
    throw new Error('SCOPEGATE_TEST_KUBECONFIG is not set: run through test/vitest.integration.config.ts');
  return p;
}

export async function kubeClient(kubeconfig = kubeconfigPath()): Promise<KubeClient> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return createKubeClient(kc);
}

export async function applyCrds(kubeconfig = kubeconfigPath()): Promise<void> {
  const r = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(REPO, 'crds')], {
    kubeconfig,
  });
  if (r.code !== 0) throw new Error(`applying CRDs failed: ${r.stderr}`);
  await kubectl(
    [
      'wait',
      '--for=condition=Established',
      'crd/apiroles.scopegate.io',
      'crd/authorizationservers.scopegate.io',
    ],
    { kubeconfig },
  );
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
    });
  } catch (e) {
    if (!isConflict(e)) throw e;
  }
}

const API = '/apis/scopegate.io/v1alpha1';

/** Namespaces exist and hold no scopegate resources or pods (a rerun against a long-lived cluster). */
export async function freshNamespaces(client: KubeClient, namespaces: string[]): Promise<void> {
  for (const ns of namespaces) {
    await ensureNamespace(client, ns);
    for (const collection of [
      `${API}/namespaces/${ns}/apiroles`,
      `${API}/namespaces/${ns}/authorizationservers`,
      `/api/v1/namespaces/${ns}/pods`,
    ]) {
      await client.request('DELETE', collection, { query: { gracePeriodSeconds: 0 } });
    }
    for (const name of ['scopegate-config-revision', 'scopegate-config-public-key', 'scopegate-jwks-cache']) {
      await client.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/${name}`).catch(() => undefined);
    }
    await client
      .request('DELETE', `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/scopegate-operator`)
      .catch(() => undefined);
  }
}

export interface Resource {
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: Record<string, unknown>;
  status?: {
    conditions?: {
      type: string;
      status: string;
      reason: string;
      message: string;
      observedGeneration?: number;
      lastTransitionTime: string;
    }[];
    [k: string]: unknown;
  };
}

export const plural = (kind: 'ApiRole' | 'AuthorizationServer') =>
  kind === 'ApiRole' ? 'apiroles' : 'authorizationservers';

export async function createResource(
  client: KubeClient,
  kind: 'ApiRole' | 'AuthorizationServer',
  namespace: string,
  name: string,
  spec: object,
): Promise<Resource> {
  return client.request<Resource>('POST', `${API}/namespaces/${namespace}/${plural(kind)}`, {
    body: { apiVersion: 'scopegate.io/v1alpha1', kind, metadata: { name, namespace }, spec },
  });
}

export async function patchSpec(
  client: KubeClient,
  kind: 'ApiRole' | 'AuthorizationServer',
  namespace: string,
  name: string,
  spec: object,
): Promise<Resource> {
  return client.request<Resource>('PATCH', `${API}/namespaces/${namespace}/${plural(kind)}/${name}`, {
    body: { spec },
    contentType: MERGE_PATCH,
  });
}

export async function deleteResource(
  client: KubeClient,
  kind: 'ApiRole' | 'AuthorizationServer',
  namespace: string,
  name: string,
): Promise<void> {
  try {
    await client.request('DELETE', `${API}/namespaces/${namespace}/${plural(kind)}/${name}`);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export async function getResource(
  client: KubeClient,
  kind: 'ApiRole' | 'AuthorizationServer',
  namespace: string,
  name: string,
): Promise<Resource> {
  return client.request<Resource>('GET', `${API}/namespaces/${namespace}/${plural(kind)}/${name}`);
}

export const condition = (r: Resource, type: string) => r.status?.conditions?.find((c) => c.type === type);

/** Polls until `check` returns a value other than undefined/false. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export async function waitForCondition(
  client: KubeClient,
  kind: 'ApiRole' | 'AuthorizationServer',
  namespace: string,
  name: string,
  type: string,
  expected: { status: string; reason?: string },
  timeoutMs = 20_000,
): Promise<Resource> {
  return eventually(
    `${kind} ${namespace}/${name} ${type}=${expected.status}${expected.reason ? `/${expected.reason}` : ''}`,
    async () => {
      const r = await getResource(client, kind, namespace, name);
      const c = condition(r, type);
      return c &&
        c.status === expected.status &&
        (expected.reason === undefined || c.reason === expected.reason) &&
        c.observedGeneration === r.metadata.generation
        ? r
        : undefined;
    },
    timeoutMs,
  );
}

// --- operators ------------------------------------------------------------------------------------

export function operatorOptions(overrides: {
  namespaces: string[];
  operatorNamespace: string;
  argv?: string[];
}): OperatorOptions {
  const parsed = parseOperatorOptions(
    [
      '--cloud',
      TENANT.cloudName,
      '--org-id',
      TENANT.orgId,
      '--cloud-domain',
      TENANT.cloudDomain,
      '--namespaces',
      overrides.namespaces.join(','),
      '--namespace',
      overrides.operatorNamespace,
      '--http-addr',
      '127.0.0.1:0',
      '--kubeconfig',
      kubeconfigPath(),
      '--leader-elect',
      'false',
      '--log-level',
      process.env.SCOPEGATE_TEST_LOG_LEVEL ?? 'warn',
      '--key-refresh-min-interval',
      '1s',
      '--anti-entropy-interval',
      '3s',
      ...(overrides.argv ?? []),
    ],
    {},
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed));
  return parsed.options;
}

export async function startTestOperator(options: OperatorOptions): Promise<RunningOperator> {
  const logger = pino({ level: options.logLevel, base: { component: 'operator' } }, pino.destination(2));
  return startOperator(options, { logger });
}

/** An operator as its own process (`node dist/operator/src/cli.js operator ...`), for failover tests. */
export interface OperatorProcess {
  child: ChildProcess;
  port: number;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnOperator(args: string[], port: number): Promise<OperatorProcess> {
  requireBuild();
  const child = spawn(process.execPath, [CLI, 'operator', ...args, '--http-addr', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  try {
    await eventually(`operator process on port ${port} to listen`, async () => {
      if (child.exitCode !== null) throw new Error(`operator exited ${child.exitCode}: ${out}`);
      return (await httpGet(`http://127.0.0.1:${port}/healthz`)).status === 200;
    });
  } catch (error) {
    child.kill('SIGKILL'); // never leave a process behind
    throw error;
  }
  return {
    child,
    port,
    output: () => out,
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export function requireBuild(): void {
  if (!fs.existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` before the integration tests`);
}

// --- pods and sidecars (a stand-in kubelet) ---------------------------------------------------------

export async function ensureNode(client: KubeClient, name = 'scopegate-test-node'): Promise<string> {
  try {
    await client.request('POST', '/api/v1/nodes', {
      body: { apiVersion: 'v1', kind: 'Node', metadata: { name } },
    });
  } catch (e) {
    if (!isConflict(e)) throw e;
  }
  return name;
}

export interface TestPod {
  namespace: string;
  name: string;
  ip: string;
  adminPort: number;
  listenPort: number;
  sidecar?: SidecarProcess;
}

/** Creates the Pod object with a sidecar container, as an injected pod would look. */
export async function createSidecarPod(
  client: KubeClient,
  pod: { namespace: string; name: string; ip: string; adminPort: number; labels?: Record<string, string> },
): Promise<void> {
  const node = await ensureNode(client);
  await client.request('POST', `/api/v1/namespaces/${pod.namespace}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: pod.name,
        namespace: pod.namespace,
        labels: { ...pod.labels, 'scopegate.io/injected': 'true' },
        annotations: { 'scopegate.io/admin-port': String(pod.adminPort) },
      },
      spec: {
        nodeName: node,
        containers: [
          { name: 'app', image: 'example/app' },
          {
            name: 'scopegate-sidecar',
            image: 'scopegate',
            ports: [{ name: 'scopegate-admin', containerPort: pod.adminPort }],
          },
        ],
      },
    },
  });
}

/** Reports the pod running with its IP, as a kubelet would, through the status subresource. */
export async function reportPodRunning(
  client: KubeClient,
  namespace: string,
  name: string,
  ip: string,
  restartCount = 0,
): Promise<void> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const running = (c: string) => ({
    name: c,
    ready: true,
    restartCount: c === 'scopegate-sidecar' ? restartCount : 0,
    image: c,
    imageID: c,
    containerID: `fake://${namespace}/${name}/${c}/${restartCount}`,
    started: true,
    state: { running: { startedAt: now } },
  });
  await client.request('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}/status`, {
    contentType: MERGE_PATCH,
    body: {
      status: {
        phase: 'Running',
        podIP: ip,
        podIPs: [{ ip }],
        hostIP: '127.0.0.1',
        startTime: now,
        conditions: [
          { type: 'Ready', status: 'True', lastTransitionTime: now },
          { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
        ],
        containerStatuses: [running('app'), running('scopegate-sidecar')],
      },
    },
  });
}

export async function deletePod(client: KubeClient, namespace: string, name: string): Promise<void> {
  try {
    await client.request('DELETE', `/api/v1/namespaces/${namespace}/pods/${name}`, {
      query: { gracePeriodSeconds: 0 },
    });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

export interface SidecarProcess {
  adminUrl: string;
  listenUrl: string;
  configDir: string;
  output(): string;
  config(): Promise<
    | {
        revision: number;
        digest: string;
        roles: number;
        authorizationServers: { server: string; keys: number }[];
        namespace: string | null;
      }
    | undefined
  >;
  stop(): Promise<void>;
}

/** Runs the real sidecar (`scopegate sidecar`) on ip:adminPort / ip:listenPort. */
export async function startSidecar(opts: {
  ip: string;
  adminPort: number;
  listenPort: number;
  publicKeyPem: string;
  upstream: string;
  operatorUrl: string;
  configDir?: string;
}): Promise<SidecarProcess> {
  requireBuild();
  const configDir = opts.configDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-sidecar-'));
  const keyFile = path.join(configDir, '..', `${path.basename(configDir)}.pub.pem`);
  fs.writeFileSync(keyFile, opts.publicKeyPem);
  const child = spawn(
    process.execPath,
    [
      CLI,
      'sidecar',
      '--config-public-key',
      keyFile,
      '--config-dir',
      configDir,
      '--upstream',
      opts.upstream,
      '--listen',
      `${opts.ip}:${opts.listenPort}`,
      '--admin',
      `${opts.ip}:${opts.adminPort}`,
      '--operator-url',
      opts.operatorUrl,
      '--audit-log',
      '/dev/null',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const adminUrl = `http://${opts.ip}:${opts.adminPort}`;
  try {
    await eventually(`sidecar on ${adminUrl}`, async () => {
      if (child.exitCode !== null) throw new Error(`sidecar exited ${child.exitCode}: ${out}`);
      return (await httpGet(`${adminUrl}/healthz`)).status === 200;
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    adminUrl,
    listenUrl: `http://${opts.ip}:${opts.listenPort}`,
    configDir,
    output: () => out,
    config: async () => {
      const r = await httpGet(`${adminUrl}/v1/config`);
      return r.status === 200 ? JSON.parse(r.body) : undefined;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A tiny upstream app: answers 200 with the identity headers the sidecar set. */
export async function startUpstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, roles: req.headers['x-scopegate-roles'] ?? null }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

// --- identity provider keys ---------------------------------------------------------------------------

export interface SigningKeyPair {
  kid: string;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  jwk: JWK;
}

export async function newRsaKey(kid: string): Promise<SigningKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' } };
}

export async function mintToken(
  key: SigningKeyPair,
  claims: { iss: string; scp: string[]; cid?: string; aud?: string },
): Promise<string> {
  return new SignJWT({ scp: claims.scp, cid: claims.cid ?? 'client-1' })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(claims.iss)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setSubject(claims.cid ?? 'client-1')
    .setAudience(claims.aud ?? 'api://default')
    .sign(key.privateKey);
}

/** An HTTPS JWKS endpoint on 127.0.0.x signed by a private CA; its keys and availability are switchable. */
export interface JwksServer {
  uri: string;
  ca: TestCa;
  keys: JWK[];
  /** 'up' serves keys, 'down' answers 503, 'garbage' serves a private key. */
  mode: 'up' | 'down' | 'private';
  requests: number;
  close(): Promise<void>;
}

export async function startJwksServer(ip: string, keys: JWK[], ca?: TestCa): Promise<JwksServer> {
  const authority = ca ?? (await createTestCa());
  const cert = await authority.issue({ ips: [ip] });
  const state: JwksServer = {
    uri: '',
    ca: authority,
    keys,
    mode: 'up',
    requests: 0,
    close: async () => {},
  };
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (_req, res) => {
    state.requests++;
    if (state.mode === 'down') {
      res.writeHead(503);
      return res.end('down');
    }
    const keysOut = state.mode === 'private' ? state.keys.map((k) => ({ ...k, d: 'c2VjcmV0' })) : state.keys;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: keysOut }));
  });
  await new Promise<void>((r) => server.listen(0, ip, r));
  state.uri = `https://${ip}:${(server.address() as AddressInfo).port}/keys`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
