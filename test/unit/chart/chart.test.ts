/**
 * The Helm chart with the real tools: helm lint/template over the ci/ values matrix, the values
 * schema, the rendered objects (webhook scoping, least-privilege RBAC, HA), the operator
 * configuration the Deployment passes (parsed by the operator's own option parsers), NOTES.txt, the
 * CRD copies, and promtool on the alert rules exactly as shipped.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { OPERATOR_FLAGS, parseOperatorOptions } from '../../../operator/src/options.js';
import { parseWebhookOptions, WEBHOOK_ENV } from '../../../operator/src/webhook/options.js';
import { toolPath } from '../../support/control-plane.js';
import {
  CHART,
  CI_VALUES,
  find,
  parseManifests,
  REPO,
  renderChart,
  runHelm,
  TENANT,
  type Manifest,
} from './helm.js';

const NS = 'scopegate-system';
const valuesFile = (name: string) =>
  CI_VALUES.find((f) => path.basename(f) === `${name}-values.yaml`) as string;
const render = (name: string) => renderChart(['-f', valuesFile(name)], 'sg', NS);

type Container = {
  name: string;
  image: string;
  args?: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  securityContext?: Record<string, unknown>;
};
type PodSpec = {
  containers: Container[];
  affinity?: Record<string, unknown>;
  volumes?: { name: string; secret?: { secretName: string } }[];
};
type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
type Webhook = {
  name: string;
  failurePolicy: string;
  sideEffects: string;
  admissionReviewVersions: string[];
  reinvocationPolicy: string;
  timeoutSeconds: number;
  clientConfig: {
    service: { name: string; namespace: string; path: string; port: number };
    caBundle?: string;
  };
  rules: { operations: string[]; resources: string[] }[];
  namespaceSelector: { matchExpressions: { key: string; operator: string; values: string[] }[] };
  objectSelector: Record<string, unknown>;
};

const deploymentOf = (manifests: Manifest[]) =>
  find(manifests, 'Deployment') as Manifest & { spec: { replicas: number; template: { spec: PodSpec } } };
const operatorContainer = (manifests: Manifest[]) =>
  deploymentOf(manifests).spec.template.spec.containers[0] as Container;
const webhooksOf = (manifests: Manifest[]) =>
  (find(manifests, 'MutatingWebhookConfiguration') as Manifest & { webhooks: Webhook[] }).webhooks;
const rulesOf = (manifests: Manifest[], kind: 'ClusterRole' | 'Role') =>
  (find(manifests, kind) as Manifest & { rules: Rule[] }).rules;

/** The container's environment as the kubelet would resolve it for pod sg-scopegate-0. */
function resolvedEnv(container: Container): Record<string, string> {
  const fields: Record<string, string> = {
    'metadata.namespace': NS,
    'metadata.name': 'sg-scopegate-7d9f-abcde',
  };
  return Object.fromEntries(
    container.env.map((e) => [e.name, e.value ?? fields[e.valueFrom?.fieldRef.fieldPath ?? ''] ?? '']),
  );
}

describe('helm lint --strict', () => {
  it.each(CI_VALUES.map((f) => [path.basename(f)]))('passes with ci/%s', async (file) => {
    const result = await runHelm(['lint', '--strict', CHART, '-f', path.join(CHART, 'ci', file)]);
    expect(result.stdout + result.stderr).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(result.code).toBe(0);
  });
});

describe('values schema and required values', () => {
  const fails = async (args: string[]) => {
    const result = await runHelm(['template', 'sg', CHART, ...args]);
    expect(result.code).not.toBe(0);
    return result.stderr;
  };

  it('fails without the tenant, naming the value and an example', async () => {
    expect(await fails([])).toContain(
      'tenant.cloudName is required: the cloud name that starts every scope <cloudName>::<orgId>::<roleName> (e.g. --set tenant.cloudName=zscaler)',
    );
    expect(await fails(['--set', 'tenant.cloudName=acme'])).toContain('tenant.orgId is required');
  });

  it.each([
    ['an unknown top-level key', ['--set', 'replicas=3'], "additional properties 'replicas' not allowed"],
    [
      'a misspelt nested key',
      ['--set', 'operator.replicas=3'],
      "at '/operator': additional properties 'replicas' not allowed",
    ],
    [
      'an unknown failure policy',
      ['--set', 'webhook.failurePolicy=Sometimes'],
      "at '/webhook/failurePolicy'",
    ],
    ['a timeout above 30 seconds', ['--set', 'webhook.timeoutSeconds=60'], "at '/webhook/timeoutSeconds'"],
    [
      'an unknown certificate mode',
      ['--set', 'webhook.certificates.mode=vault'],
      "at '/webhook/certificates/mode'",
    ],
    ['a tenant with the scope separator', ['--set', 'tenant.cloudName=a::b'], "at '/tenant/cloudName'"],
    ['a bad duration', ['--set', 'unprotectedPods.interval=soon'], "at '/unprotectedPods/interval'"],
    [
      'a bad quantity',
      ['--set', 'sidecar.resources.limits.memory=lots'],
      "at '/sidecar/resources/limits/memory'",
    ],
    [
      'a bad namespace name',
      ['--set', 'webhook.excludedNamespaces[0]=Not_A_Namespace'],
      "at '/webhook/excludedNamespaces/0'",
    ],
    ['zero replicas', ['--set', 'operator.replicaCount=0'], "at '/operator/replicaCount'"],
  ])('rejects %s with a message naming the key', async (_name, args, message) => {
    const stderr = await fails([...TENANT, ...args]);
    expect(stderr).toContain("values don't meet the specifications of the schema");
    expect(stderr).toContain(message);
  });

  it.each([
    [
      ['--set', 'operator.leaderElection.enabled=false'],
      'operator.replicaCount is above 1 but operator.leaderElection.enabled is false',
    ],
    [
      ['--set', 'networkPolicy.enabled=true'],
      'networkPolicy.enabled is true but networkPolicy.namespaces is empty',
    ],
    [
      ['--set', 'serviceAccount.create=false'],
      'serviceAccount.name is required when serviceAccount.create is false',
    ],
  ])('rejects inconsistent values: %j', async (args, message) => {
    expect(await fails([...TENANT, ...args])).toContain(message);
  });

  it('accepts a numeric org ID and passes it on as its digits', async () => {
    const manifests = await renderChart(['--set', 'tenant.cloudName=acme', '--set', 'tenant.orgId=12345678']);
    expect(resolvedEnv(operatorContainer(manifests))['SCOPEGATE_ORG_ID']).toBe('12345678');
  });

  it('says no to unknown keys at every level: every object of the schema is closed or a documented pass-through', () => {
    const schema = JSON.parse(readFileSync(path.join(CHART, 'values.schema.json'), 'utf8'));
    const open: string[] = [];
    const walk = (node: Record<string, unknown>, where: string) => {
      if (node['type'] === 'object' && node['additionalProperties'] !== false) {
        const passThrough =
          typeof node['additionalProperties'] === 'object' || /as is/.test(String(node['description']));
        if (!passThrough) open.push(where);
      }
      if (node['type'] === 'object' && node['properties'] !== undefined)
        expect(node['description'] ?? where === '', where).toBeTruthy();
      for (const [key, child] of Object.entries(
        (node['properties'] ?? {}) as Record<string, Record<string, unknown>>,
      )) {
        expect(child['description'], `${where}/${key} has a description`).toBeTruthy();
        walk(child, `${where}/${key}`);
      }
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });
});

describe('helm template over ci/*-values.yaml', () => {
  const rendered = new Map<string, Manifest[]>();
  beforeAll(async () => {
    for (const file of CI_VALUES) {
      const name = path.basename(file, '-values.yaml');
      rendered.set(name, await render(name));
    }
  });
  const get = (name: string) => rendered.get(name) as Manifest[];

  it.each(CI_VALUES.map((f) => [path.basename(f, '-values.yaml')]))(
    '%s: every namespaced object lands in the release namespace',
    (name) => {
      const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration'];
      for (const manifest of get(name)) {
        if (clusterScoped.includes(manifest.kind))
          expect(manifest.metadata.namespace, manifest.kind).toBeUndefined();
        else if (manifest.kind === 'NetworkPolicy')
          expect(['shop', 'payments']).toContain(manifest.metadata.namespace);
        else expect(manifest.metadata.namespace, `${manifest.kind} ${manifest.metadata.name}`).toBe(NS);
        expect(manifest.metadata.labels?.['app.kubernetes.io/part-of']).toBe('scopegate');
      }
    },
  );

  it.each(CI_VALUES.map((f) => [path.basename(f, '-values.yaml')]))(
    '%s: the Deployment configures the operator exactly as its option parsers expect',
    (name) => {
      const manifests = get(name);
      const env = resolvedEnv(operatorContainer(manifests));
      const known = new Set([
        ...Object.values(OPERATOR_FLAGS).map((f) => f.env),
        ...Object.keys(WEBHOOK_ENV),
      ]);
      expect(Object.keys(env).filter((variable) => !known.has(variable))).toEqual([]);
      const operator = parseOperatorOptions(['--kubeconfig', '/dev/null'], env);
      if (!operator.ok) throw new Error(`operator options rejected: ${JSON.stringify(operator)}`);
      expect(operator.options.webhook.enabled).toBe(true);
      const webhook = parseWebhookOptions(env, {
        operatorNamespace: operator.options.operatorNamespace,
        addr: operator.options.webhook.addr,
      });
      if (!webhook.ok) throw new Error(`webhook options rejected: ${webhook.errors.join('; ')}`);

      // Names the operator uses are the names the chart creates and grants.
      const service = manifests.find(
        (m) => m.kind === 'Service' && m.metadata.name.endsWith('-webhook'),
      ) as Manifest;
      const role = rulesOf(manifests, 'Role');
      const namesFor = (resource: string) =>
        role.filter((r) => r.resources.includes(resource)).flatMap((r) => r.resourceNames ?? []);
      expect(namesFor('secrets')).toContain(operator.options.signingSecret.name);
      // Every ConfigMap the operator is told to use (public key, revision, key cache, ...) is granted by name.
      const configMaps = Object.entries(operator.options)
        .filter(([key]) => key.endsWith('ConfigMap'))
        .map(([, value]) => value as string);
      expect(configMaps.length).toBeGreaterThanOrEqual(3);
      expect(namesFor('configmaps').sort()).toEqual(configMaps.sort());
      for (const name of configMaps)
        expect(name.startsWith(find(manifests, 'Deployment').metadata.name)).toBe(true);
      expect(namesFor('leases')).toEqual([operator.options.leaderElection.leaseName]);
      const certificates = webhook.options.certificates;
      if (certificates.mode === 'self-managed') {
        expect(certificates.hosts[0]).toBe(`${service.metadata.name}.${NS}.svc`);
        expect(certificates.webhookConfigurationName).toBe(
          find(manifests, 'MutatingWebhookConfiguration').metadata.name,
        );
        expect(namesFor('secrets')).toContain(certificates.secretName);
        expect(find(manifests, 'Secret', certificates.secretName)).toBeDefined();
      } else {
        const certificate = find(manifests, 'Certificate', service.metadata.name) as Manifest & {
          spec: { secretName: string; dnsNames: string[] };
        };
        expect(certificate.spec.dnsNames[0]).toBe(`${service.metadata.name}.${NS}.svc`);
        const volume = deploymentOf(manifests).spec.template.spec.volumes?.find(
          (v) => v.name === 'webhook-tls',
        );
        expect(volume?.secret?.secretName).toBe(certificate.spec.secretName);
      }
      expect(webhook.options.sidecar.operatorUrl).toBe(
        `http://${find(manifests, 'Service').metadata.name}.${NS}.svc:8080`,
      );
    },
  );

  describe('defaults', () => {
    it('run two operator replicas spread over nodes, with a PodDisruptionBudget', () => {
      const deployment = deploymentOf(get('default'));
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.template.spec.affinity).toMatchObject({
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { podAffinityTerm: { topologyKey: 'kubernetes.io/hostname' } },
          ],
        },
      });
      expect(find(get('default'), 'PodDisruptionBudget')).toMatchObject({ spec: { minAvailable: 1 } });
      expect(resolvedEnv(operatorContainer(get('default')))['SCOPEGATE_LEADER_ELECT']).toBe('true');
    });

    it('run the operator non-root, read-only, without privileges', () => {
      const deployment = deploymentOf(get('default'));
      expect(deployment.spec.template.spec).toMatchObject({
        securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
      });
      expect(operatorContainer(get('default')).securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(operatorContainer(get('default')).args).toEqual(['operator']);
    });

    it('send only opted-in pods to the webhook, never kube-system or the release namespace', () => {
      const webhooks = webhooksOf(get('default'));
      expect(webhooks.map((w) => w.name)).toEqual([
        'pods.webhook.scopegate.io',
        'namespace-pods.webhook.scopegate.io',
      ]);
      for (const webhook of webhooks) {
        expect(webhook).toMatchObject({
          failurePolicy: 'Fail',
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
          reinvocationPolicy: 'IfNeeded',
          timeoutSeconds: 10,
          clientConfig: {
            service: { name: 'sg-scopegate-webhook', namespace: NS, path: '/mutate-pods', port: 443 },
          },
          rules: [{ operations: ['CREATE'], resources: ['pods'] }],
        });
        expect(webhook.clientConfig.caBundle).toBeUndefined();
        expect(webhook.namespaceSelector.matchExpressions[0]).toEqual({
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: ['kube-system', NS],
        });
      }
      const [byPod, byNamespace] = webhooks as [Webhook, Webhook];
      expect(byPod.objectSelector).toEqual({ matchLabels: { 'scopegate.io/inject': 'true' } });
      expect(byPod.namespaceSelector.matchExpressions[1]).toEqual({
        key: 'scopegate.io/inject',
        operator: 'NotIn',
        values: ['true'],
      });
      expect(byNamespace.namespaceSelector.matchExpressions[1]).toEqual({
        key: 'scopegate.io/inject',
        operator: 'In',
        values: ['true'],
      });
      expect(byNamespace.objectSelector).toEqual({
        matchExpressions: [{ key: 'scopegate.io/inject', operator: 'NotIn', values: ['false'] }],
      });
    });

    it('grant least privilege: read what is watched, write status and events, touch the webhook configuration by name', () => {
      const manifests = get('default');
      expect(rulesOf(manifests, 'ClusterRole')).toEqual([
        {
          apiGroups: ['scopegate.io'],
          resources: ['apiroles', 'authorizationservers'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['scopegate.io'],
          resources: ['apiroles/status', 'authorizationservers/status'],
          verbs: ['get', 'patch', 'update'],
        },
        { apiGroups: ['scopegate.io'], resources: ['authorizationservers'], verbs: ['patch'] },
        { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
        {
          apiGroups: ['admissionregistration.k8s.io'],
          resources: ['mutatingwebhookconfigurations'],
          resourceNames: ['sg-scopegate'],
          verbs: ['get', 'patch'],
        },
      ]);
      for (const rule of rulesOf(manifests, 'Role')) {
        // Only create cannot be limited to names.
        if (rule.resourceNames === undefined) expect(rule.verbs).toEqual(['create']);
        expect(rule.verbs).not.toContain('list');
        expect(rule.verbs).not.toContain('delete');
      }
      for (const manifest of manifests.filter((m) => m.kind.endsWith('Binding'))) {
        expect(manifest).toMatchObject({
          subjects: [{ kind: 'ServiceAccount', name: 'sg-scopegate', namespace: NS }],
        });
      }
    });

    it('expose the webhook on 443 and metrics on http, and test /readyz with helm test', () => {
      const services = get('default').filter((m) => m.kind === 'Service') as (Manifest & {
        spec: { ports: { port: number; targetPort: string }[] };
      })[];
      expect(
        services.map((s) => [s.metadata.name, s.spec.ports[0]?.port, s.spec.ports[0]?.targetPort]),
      ).toEqual([
        ['sg-scopegate', 8080, 'http'],
        ['sg-scopegate-webhook', 443, 'webhook'],
      ]);
      const testPod = find(get('default'), 'Pod') as Manifest & { spec: { containers: Container[] } };
      expect(testPod.metadata.annotations?.['helm.sh/hook']).toBe('test');
      expect(testPod.spec.containers[0]?.args?.[0]).toContain(`http://sg-scopegate.${NS}.svc:8080/readyz`);
    });

    it('render no monitoring, NetworkPolicy or cert-manager objects', () => {
      const kinds = get('default').map((m) => m.kind);
      for (const kind of [
        'ServiceMonitor',
        'PodMonitor',
        'PrometheusRule',
        'NetworkPolicy',
        'Certificate',
        'Issuer',
      ]) {
        expect(kinds).not.toContain(kind);
      }
    });
  });

  it('cert-manager: a CA chain, a serving certificate, the CA injected by annotation, no webhook RBAC', () => {
    const manifests = get('cert-manager');
    expect(manifests.filter((m) => m.kind === 'Issuer').map((m) => m.metadata.name)).toEqual([
      'sg-scopegate-selfsigned',
      'sg-scopegate-webhook-ca',
    ]);
    expect(find(manifests, 'MutatingWebhookConfiguration').metadata.annotations).toEqual({
      'cert-manager.io/inject-ca-from': `${NS}/sg-scopegate-webhook`,
    });
    expect(find(manifests, 'Certificate', 'sg-scopegate-webhook')).toMatchObject({
      spec: {
        secretName: 'sg-scopegate-webhook-tls',
        issuerRef: { name: 'sg-scopegate-webhook-ca', kind: 'Issuer' },
        usages: ['server auth', 'digital signature'],
      },
    });
    expect(rulesOf(manifests, 'ClusterRole').flatMap((r) => r.resources)).not.toContain(
      'mutatingwebhookconfigurations',
    );
    expect(manifests.map((m) => m.kind)).not.toContain('Secret');
  });

  it('monitoring: ServiceMonitor, PodMonitor on every injected pod, the rules file verbatim, NetworkPolicies', () => {
    const manifests = get('monitoring');
    expect(find(manifests, 'ServiceMonitor')).toMatchObject({
      metadata: { labels: { release: 'prometheus' } },
      spec: { endpoints: [{ port: 'http', path: '/metrics' }] },
    });
    expect(find(manifests, 'PodMonitor')).toMatchObject({
      spec: {
        selector: { matchLabels: { 'scopegate.io/injected': 'true' } },
        namespaceSelector: { any: true },
        podMetricsEndpoints: [{ port: 'scopegate-admin' }],
      },
    });
    const shipped = parse(readFileSync(path.join(CHART, 'files/prometheus-rules.yaml'), 'utf8'));
    expect((find(manifests, 'PrometheusRule') as Manifest & { spec: unknown }).spec).toEqual(shipped);
    const policies = manifests.filter((m) => m.kind === 'NetworkPolicy') as (Manifest & {
      spec: Record<string, unknown>;
    })[];
    expect(policies.map((p) => p.metadata.namespace)).toEqual(['shop', 'payments']);
    expect(policies[0]?.spec).toEqual({
      podSelector: { matchLabels: { 'scopegate.io/injected': 'true' } },
      policyTypes: ['Ingress'],
      ingress: [
        { ports: [{ protocol: 'TCP', port: 15900 }] },
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NS } },
              podSelector: {
                matchLabels: {
                  'app.kubernetes.io/name': 'scopegate',
                  'app.kubernetes.io/instance': 'sg',
                  'app.kubernetes.io/component': 'operator',
                },
              },
            },
            { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
          ],
          ports: [{ protocol: 'TCP', port: 15901 }],
        },
      ],
    });
  });

  it('single replica: no leader election, no PodDisruptionBudget, no test pod', () => {
    const manifests = get('single-replica');
    expect(deploymentOf(manifests).spec.replicas).toBe(1);
    expect(resolvedEnv(operatorContainer(manifests))['SCOPEGATE_LEADER_ELECT']).toBe('false');
    expect(manifests.map((m) => m.kind)).not.toContain('PodDisruptionBudget');
    expect(manifests.map((m) => m.kind)).not.toContain('Pod');
  });

  it('custom namespaces: watched and excluded namespaces, pinned images, fail-open, an existing ClusterIssuer', () => {
    const manifests = get('custom-namespaces');
    const env = resolvedEnv(operatorContainer(manifests));
    expect(env['SCOPEGATE_WATCH_NAMESPACES']).toBe('shop,payments');
    expect(operatorContainer(manifests).image).toBe(
      'registry.example.com/security/scopegate@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    );
    expect(env['SCOPEGATE_SIDECAR_IMAGE']).toBe('registry.example.com/security/scopegate:0.1.0-debug');
    for (const webhook of webhooksOf(manifests)) {
      expect(webhook.failurePolicy).toBe('Ignore');
      expect(webhook.timeoutSeconds).toBe(5);
      expect(webhook.namespaceSelector.matchExpressions[0]?.values).toEqual([
        'kube-system',
        NS,
        'monitoring',
        'istio-system',
      ]);
    }
    expect(find(manifests, 'MutatingWebhookConfiguration').metadata.name).toBe('gate');
    expect(find(manifests, 'Certificate')).toMatchObject({
      spec: { issuerRef: { name: 'platform-ca', kind: 'ClusterIssuer' } },
    });
    expect(manifests.map((m) => m.kind)).not.toContain('Issuer');
  });
});

describe('NOTES.txt', () => {
  it('tells the user what to do next', async () => {
    const result = await runHelm([
      'install',
      'sg',
      CHART,
      '--namespace',
      NS,
      '--dry-run=client',
      '-f',
      valuesFile('default'),
    ]);
    expect(result.code).toBe(0);
    const notes = result.stdout.slice(result.stdout.indexOf('NOTES:'));
    expect(notes).toContain('for tenant acme::1234567');
    expect(notes).toContain('kubectl label namespace <your-namespace> scopegate.io/inject=true');
    expect(notes).toContain('scopegate.io/upstream-port: "8080"');
    expect(notes).toContain('kubectl get scopegate -A');
    expect(notes).not.toContain('WARNING');
  });

  it('warns when the webhook fails open', async () => {
    const result = await runHelm([
      'install',
      'sg',
      CHART,
      '--namespace',
      NS,
      '--dry-run=client',
      '-f',
      valuesFile('custom-namespaces'),
    ]);
    expect(result.stdout).toContain('WARNING: webhook.failurePolicy is Ignore');
  });
});

describe('CRDs', () => {
  it('the chart ships the generated CRDs unchanged', () => {
    const generated = readdirSync(path.join(REPO, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    expect(readdirSync(path.join(CHART, 'crds')).sort()).toEqual(generated);
    for (const file of generated) {
      expect(readFileSync(path.join(CHART, 'crds', file), 'utf8'), file).toBe(
        readFileSync(path.join(REPO, 'crds', file), 'utf8'),
      );
    }
  });
});

describe('alert rules', () => {
  const promtool = async (args: string[]) => {
    const { stdout, stderr } = await promisify(execFile)(toolPath('promtool'), args, { cwd: REPO });
    return stdout + stderr;
  };

  it('promtool check rules accepts the shipped file', async () => {
    expect(await promtool(['check', 'rules', 'charts/scopegate/files/prometheus-rules.yaml'])).toContain(
      'SUCCESS: 8 rules found',
    );
  });

  it('promtool test rules: every alert fires when it should and stays quiet when it should', async () => {
    expect(await promtool(['test', 'rules', 'test/unit/chart/prometheus-rules.test.yaml'])).toContain(
      'SUCCESS',
    );
  });

  it('uses only metric names the components export', () => {
    const sources = [
      'operator/src/telemetry/metrics.ts',
      'operator/src/webhook/metrics.ts',
      'sidecar/src/telemetry/metrics.ts',
    ]
      .map((file) => readFileSync(path.join(REPO, file), 'utf8'))
      .join('\n')
      .replaceAll('${PREFIX}', 'scopegate_sidecar_');
    const rules = readFileSync(path.join(CHART, 'files/prometheus-rules.yaml'), 'utf8');
    const used = new Set(rules.match(/scopegate_[a-z_]+/g));
    for (const metric of used)
      expect(sources.includes(`'${metric}'`) || sources.includes(`\`${metric}\``), metric).toBe(true);
  });
});

/**
 * Helm 3 compatibility: `make test` sets `SCOPEGATE_HELM3` to the Helm 3 that test/tools/install.sh
 * builds from its Go module. Same objects as Helm 4.
 */
describe.skipIf(!process.env.SCOPEGATE_HELM3)('Helm 3', () => {
  const helm3 = async (args: string[]) =>
    promisify(execFile)(process.env.SCOPEGATE_HELM3 as string, args, { maxBuffer: 32 * 1024 * 1024 });
  const byKey = (manifests: Manifest[]) =>
    [...manifests].sort((a, b) =>
      `${a.kind}/${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.kind}/${b.metadata.namespace}/${b.metadata.name}`,
      ),
    );

  it.each(CI_VALUES.map((f) => [path.basename(f)]))(
    'renders ci/%s exactly as Helm 4 does, and lints clean',
    async (file) => {
      const values = ['-f', path.join(CHART, 'ci', file)];
      // A Helm 3 built without release ldflags assumes Kubernetes 1.20; state a supported version.
      const lint = await helm3(['lint', '--strict', '--kube-version', '1.34.0', CHART, ...values]);
      expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
      const rendered = await helm3([
        'template',
        'sg',
        CHART,
        '--namespace',
        NS,
        '--kube-version',
        '1.34.0',
        ...values,
      ]);
      expect(byKey(parseManifests(rendered.stdout))).toEqual(byKey(await renderChart(values, 'sg', NS)));
    },
  );
});
