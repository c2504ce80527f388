/**
 * The chart against the real API server: every object of every ci/ values file accepted by
 * `kubectl apply --dry-run=server`, then a real `helm install`, `helm upgrade` and `helm uninstall`.
 * There is no kubelet, so pods never run: the tests check objects, not workloads.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { kubectl } from '../../support/control-plane.js';
import { CHART, CI_VALUES, runHelm } from '../../unit/chart/helm.js';

const RUN = randomBytes(3).toString('hex');
const NS = `sg-chart-${RUN}`;
const RELEASE = `sgc-${RUN}`;
const FULLNAME = `${RELEASE}-scopegate`;
const THIRD_PARTY_CRDS = readFileSync(
  path.join(import.meta.dirname, 'fixtures/third-party-crds.yaml'),
  'utf8',
);
/** Namespaces ci/monitoring-values.yaml puts NetworkPolicies in. */
const APP_NAMESPACES = ['shop', 'payments'];

const kubeconfig = () => inject('kubeconfigPath') || (process.env.SCOPEGATE_TEST_KUBECONFIG as string);
const k = (args: string[], input?: string) =>
  kubectl(args, { kubeconfig: kubeconfig(), ...(input === undefined ? {} : { input }) });
const helm = (args: string[]) => runHelm(args, { kubeconfig: kubeconfig(), timeoutMs: 120_000 });

async function mustK(args: string[], input?: string): Promise<string> {
  const result = await k(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

async function exists(kind: string, name: string, namespace?: string): Promise<boolean> {
  const result = await k([
    'get',
    kind,
    name,
    ...(namespace === undefined ? [] : ['-n', namespace]),
    '-o',
    'name',
  ]);
  if (result.code === 0) return true;
  if (result.stderr.includes('NotFound')) return false;
  throw new Error(`kubectl get ${kind} ${name}: ${result.stderr}`);
}

beforeAll(async () => {
  // The tier shares one API server: start from a cluster where no earlier file installed our CRDs
  // (with another field manager), so the dry run and the install see what a first install sees.
  await mustK([
    'delete',
    'crd',
    'apiroles.scopegate.io',
    'authorizationservers.scopegate.io',
    '--ignore-not-found',
    '--wait=true',
  ]);
  for (const ns of [NS, ...APP_NAMESPACES]) {
    const created = await k(['create', 'namespace', ns]);
    if (created.code !== 0 && !created.stderr.includes('AlreadyExists')) throw new Error(created.stderr);
  }
  await mustK(['apply', '-f', '-'], THIRD_PARTY_CRDS);
  await mustK(['wait', '--for=condition=Established', '--timeout=30s', '-f', '-'], THIRD_PARTY_CRDS);
});

afterAll(async () => {
  // A webhook configuration left behind (failurePolicy Fail, no endpoints) would block opted-in pods.
  await helm(['uninstall', RELEASE, '--namespace', NS, '--ignore-not-found']);
  await k(['delete', '--ignore-not-found', '-f', '-'], THIRD_PARTY_CRDS);
});

describe('every rendered object is accepted by the API server', () => {
  it.each(CI_VALUES.map((f) => [path.basename(f)]))(
    'ci/%s (kubectl apply --dry-run=server)',
    async (file) => {
      const rendered = await helm([
        'template',
        RELEASE,
        CHART,
        '--namespace',
        NS,
        '--include-crds',
        '-f',
        path.join(CHART, 'ci', file),
      ]);
      expect(rendered.code, rendered.stderr).toBe(0);
      const applied = await k(['apply', '--dry-run=server', '--validate=strict', '-f', '-'], rendered.stdout);
      expect(applied.stderr).toBe('');
      expect(applied.code).toBe(0);
      // One line per object: "<kind>/<name> created (server dry run)".
      const objects = rendered.stdout.split(/^---$/m).filter((doc) => /^kind:/m.test(doc)).length;
      expect(applied.stdout.trim().split('\n')).toHaveLength(objects);
      expect(applied.stdout).not.toMatch(/configured|unchanged/);
    },
  );
});

describe('helm install, upgrade and uninstall', () => {
  const clusterScoped: [string, string][] = [
    ['clusterrole', FULLNAME],
    ['clusterrolebinding', FULLNAME],
    ['mutatingwebhookconfiguration', FULLNAME],
  ];
  const namespaced: [string, string][] = [
    ['deployment', FULLNAME],
    ['serviceaccount', FULLNAME],
    ['service', FULLNAME],
    ['service', `${FULLNAME}-webhook`],
    ['role', FULLNAME],
    ['rolebinding', FULLNAME],
    ['poddisruptionbudget', FULLNAME],
    ['secret', `${FULLNAME}-webhook-tls`],
  ];

  it('installs the CRDs and every object', async () => {
    const result = await helm([
      'install',
      RELEASE,
      CHART,
      '--namespace',
      NS,
      '-f',
      path.join(CHART, 'ci/default-values.yaml'),
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('STATUS: deployed');
    expect(result.stdout).toContain(`kubectl label namespace <your-namespace> scopegate.io/inject=true`);
    for (const crd of ['apiroles.scopegate.io', 'authorizationservers.scopegate.io'])
      expect(await exists('crd', crd)).toBe(true);
    for (const [kind, name] of clusterScoped) expect(await exists(kind, name), `${kind}/${name}`).toBe(true);
    for (const [kind, name] of namespaced) expect(await exists(kind, name, NS), `${kind}/${name}`).toBe(true);
    const deployment = JSON.parse(await mustK(['get', 'deployment', FULLNAME, '-n', NS, '-o', 'json']));
    expect(deployment.spec.replicas).toBe(2);
    // `kubectl get scopegate` (NOTES.txt) lists both kinds through the CRDs' category. Naming a kind
    // first makes kubectl refresh the discovery cache an earlier call filled before the CRDs existed.
    await mustK(['get', 'apiroles', '-n', NS]);
    const listed = await k(['get', 'scopegate', '-n', NS]);
    expect(listed.code, listed.stderr).toBe(0);
  });

  it('the operator ServiceAccount can do what the operator does, and no more', async () => {
    const as = ['--as', `system:serviceaccount:${NS}:${FULLNAME}`];
    const can = async (...args: string[]) => (await k(['auth', 'can-i', ...args, ...as])).stdout.trim();
    expect(await can('watch', 'apiroles.scopegate.io', '-A')).toBe('yes');
    expect(
      await can('patch', 'authorizationservers.scopegate.io', '--subresource=status', '-n', 'shop'),
    ).toBe('yes');
    expect(await can('list', 'pods', '-A')).toBe('yes');
    expect(await can('create', 'events.events.k8s.io', '-n', 'shop')).toBe('yes');
    expect(await can('patch', `mutatingwebhookconfigurations/${FULLNAME}`)).toBe('yes');
    expect(await can('patch', 'mutatingwebhookconfigurations/some-other-webhook')).toBe('no');
    expect(await can('get', `secrets/${FULLNAME}-webhook-tls`, '-n', NS)).toBe('yes');
    expect(await can('get', 'secrets/someone-elses-secret', '-n', NS)).toBe('no');
    expect(await can('list', 'secrets', '-n', NS)).toBe('no');
    expect(await can('get', 'secrets', '-n', 'shop')).toBe('no');
    expect(await can('delete', 'apiroles.scopegate.io', '-n', 'shop')).toBe('no');
    expect(await can('update', 'apiroles.scopegate.io', '-n', 'shop')).toBe('no');
    expect(await can('update', `leases/${FULLNAME}-operator`, '-n', NS)).toBe('yes');
  });

  it('an upgrade keeps what the operator wrote: the webhook certificates and the caBundle', async () => {
    const data = { 'tls.crt': Buffer.from('operator-written').toString('base64') };
    await mustK([
      'patch',
      'secret',
      `${FULLNAME}-webhook-tls`,
      '-n',
      NS,
      '--type=merge',
      '-p',
      JSON.stringify({ data }),
    ]);
    const caBundle = Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString(
      'base64',
    );
    const patch = [0, 1].map((i) => ({
      op: 'add',
      path: `/webhooks/${i}/clientConfig/caBundle`,
      value: caBundle,
    }));
    await mustK([
      'patch',
      'mutatingwebhookconfiguration',
      FULLNAME,
      '--type=json',
      '-p',
      JSON.stringify(patch),
    ]);

    const result = await helm([
      'upgrade',
      RELEASE,
      CHART,
      '--namespace',
      NS,
      '-f',
      path.join(CHART, 'ci/default-values.yaml'),
      '--set',
      'webhook.timeoutSeconds=7',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const secret = JSON.parse(
      await mustK(['get', 'secret', `${FULLNAME}-webhook-tls`, '-n', NS, '-o', 'json']),
    );
    expect(secret.data).toEqual(data);
    const configuration = JSON.parse(
      await mustK(['get', 'mutatingwebhookconfiguration', FULLNAME, '-o', 'json']),
    );
    for (const webhook of configuration.webhooks) {
      expect(webhook.timeoutSeconds).toBe(7);
      expect(webhook.clientConfig.caBundle).toBe(caBundle);
    }
  });

  it('uninstalls every object (the CRDs stay, as Helm keeps CRDs and the resources in them)', async () => {
    const result = await helm(['uninstall', RELEASE, '--namespace', NS, '--wait', '--timeout', '60s']);
    expect(result.code, result.stderr).toBe(0);
    for (const [kind, name] of clusterScoped) expect(await exists(kind, name), `${kind}/${name}`).toBe(false);
    for (const [kind, name] of namespaced)
      expect(await exists(kind, name, NS), `${kind}/${name}`).toBe(false);
    expect(await exists('crd', 'apiroles.scopegate.io')).toBe(true);
  });
});
