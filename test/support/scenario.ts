/**
 * The whole system on one machine, shared by the e2e test and `make demo`: the Helm chart installed
 * with the real helm; the operator (and its injection webhook) as a real process, configured as the
 * chart's Deployment configures its pod and with the chart's ServiceAccount and RBAC; a real
 * oidc-provider authorization server plus Okta-, Entra ID- and PingFederate-shaped issuers; the sample
 * API in a pod that the webhook injected and the fake kubelet runs; a real Prometheus scraping the
 * operator and the sidecar.
 *
 *   const s = await startScenario({ kubeconfig, workDir, log: console.log });
 *   const rows = await s.runCalls(STANDARD_CALLS);
 *   await s.stop();
 *
 * The control plane is the caller's (vitest's globalSetup, or the demo). Everything started here is
 * stopped by stop(), also when startScenario() itself fails half-way.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { AUDIT_SCHEMA, type AuditRecord } from '../../sidecar/src/audit/audit-record.js';
import {
  CHART_DIR,
  findManifest,
  installChart,
  operatorEnvFromChart,
  serviceAccountKubeconfig,
} from './chart-install.js';
import { helm, kubectl, type CommandResult } from './control-plane.js';
import { startFakeKubelet, type FakeKubelet, type RunningPod } from './fake-kubelet.js';
import { httpRequest } from './http-client.js';
import { startIdentityProvider, type IdentityProvider } from './idp.js';
import { freePort, startOperatorProcess, type OperatorProcess } from './operator-process.js';
import { startPrometheus, type Prometheus } from './prometheus.js';
import {
  createSigningKey,
  defaultIssuer,
  mintProviderShapedToken,
  startJwksServer,
  type JwksServer,
  type ProviderKind,
  type SigningKey,
} from './provider-tokens.js';
import {
  APP_NAMESPACE,
  APP_POD,
  APP_POD_IP,
  apiRoles,
  authorizationServers,
  CALLERS,
  CHART_VALUES,
  IDP_CLIENTS,
  namespaces,
  OPERATOR_HOST,
  OTHER_NAMESPACE,
  OPERATOR_NAMESPACE,
  OPERATOR_POD,
  RELEASE,
  samplePod,
  SIDECAR_ADMIN_PORT,
  SIDECAR_LISTEN_PORT,
  TENANT,
  VENDOR_AUDIENCE,
  type CallerName,
  type ExpectedCall,
} from './scenario-resources.js';
import { createTestCa } from './test-ca.js';

export const SIDECAR_CONTAINER = 'scopegate-sidecar';
const VENDORS: ProviderKind[] = ['okta', 'entra-v1', 'entra-v2', 'pingfederate'];

export interface ScenarioOptions {
  kubeconfig: string;
  /** Logs of every process go here. */
  workDir: string;
  /** One line per step, for people. */
  log?: (message: string) => void;
}

export interface CallResult {
  caller: CallerName;
  method: string;
  path: string;
  status: number;
  /** `allowed` for a 2xx/3xx, else the error `code` of the body. */
  reason: string;
  body: unknown;
  requestId: string;
}

export interface Scenario {
  readonly kubeconfig: string;
  readonly idp: IdentityProvider;
  readonly operator: OperatorProcess;
  readonly kubelet: FakeKubelet;
  readonly pod: RunningPod;
  readonly prometheus: Prometheus;
  /** `http://127.0.0.101:15900`: the protected API, through the sidecar. */
  readonly apiUrl: string;
  /** `http://127.0.0.101:15901`: the sidecar's admin port. */
  readonly sidecarAdminUrl: string;
  /** kubectl against the scenario's cluster; rejects on a non-zero exit. */
  kubectl(args: string[], input?: string): Promise<CommandResult>;
  token(caller: CallerName): Promise<string | undefined>;
  call(c: Pick<ExpectedCall, 'caller' | 'method' | 'path' | 'body' | 'headers'>): Promise<CallResult>;
  runCalls(calls: readonly ExpectedCall[]): Promise<CallResult[]>;
  /** The sidecar's audit records so far (its stdout). */
  auditRecords(): AuditRecord[];
  /** `kubectl apply` the reader role with POST allowed; resolves when the sidecar allows it. */
  grantReaderPost(timeoutMs?: number): Promise<{ propagationMs: number }>;
  /** New signing key at the IdP; resolves with its kid once a token it signed is accepted. */
  rotateIdpKeys(timeoutMs?: number): Promise<{ kid: string; acceptedAfterMs: number }>;
  stop(): Promise<void>;
}

/** Runs `fn` until it returns a value that is not undefined; rejects after timeoutMs with `what`. */
async function until<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`,
      );
    }
    await sleep(intervalMs);
  }
}

const asList = (items: object[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

export async function startScenario(o: ScenarioOptions): Promise<Scenario> {
  const log = o.log ?? (() => {});
  fs.mkdirSync(o.workDir, { recursive: true });
  const stops: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };

  const kc = async (args: string[], input?: string) => {
    const res = await kubectl(args, { kubeconfig: o.kubeconfig, ...(input !== undefined ? { input } : {}) });
    if (res.code !== 0)
      throw new Error(`kubectl ${args.join(' ')} failed (${res.code}):\n${res.stderr}${res.stdout}`);
    return res;
  };

  try {
    // --- the app's namespace (the chart creates its own) --------------------------------------
    await kc(['apply', '-f', '-'], asList(namespaces()));

    // --- identity providers ----------------------------------------------------------------------
    const ca = await createTestCa('scopegate demo CA');
    const idp = await startIdentityProvider({ clients: IDP_CLIENTS, ca });
    stops.push(() => idp.stop());
    log(`identity provider (oidc-provider, client credentials) at ${idp.issuer}`);
    const vendorKeys = {} as Record<ProviderKind, SigningKey>;
    const vendorJwks = {} as Record<ProviderKind, JwksServer>;
    for (const vendor of VENDORS) {
      vendorKeys[vendor] = await createSigningKey(`${vendor}-key-1`);
      vendorJwks[vendor] = await startJwksServer({ keys: [vendorKeys[vendor]], ca });
      stops.push(() => vendorJwks[vendor].stop());
    }
    log(
      'Okta-, Entra ID (v1.0, v2.0)- and PingFederate-shaped token issuers, each with an HTTPS JWKS endpoint',
    );

    // --- scopegate: the chart, then the operator as its Deployment would run it ------------------
    log('helm install scopegate: CRDs, RBAC, ServiceAccount, Services, webhook configuration');
    const release = await installChart({
      kubeconfig: o.kubeconfig,
      release: RELEASE,
      namespace: OPERATOR_NAMESPACE,
      values: CHART_VALUES,
    });
    await kc([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/apiroles.scopegate.io',
      'crd/authorizationservers.scopegate.io',
    ]);
    stops.push(() =>
      helm(['uninstall', RELEASE, '--namespace', OPERATOR_NAMESPACE, '--ignore-not-found'], {
        kubeconfig: o.kubeconfig,
      }),
    );
    const httpPort = await freePort(OPERATOR_HOST);
    const webhookPort = await freePort(OPERATOR_HOST);
    const webhookName = findManifest<{ metadata: { name: string }; webhooks: unknown[] }>(
      release,
      'MutatingWebhookConfiguration',
    );
    // No Service routing without a cluster network: the API server calls the webhook on loopback.
    const url = `https://${OPERATOR_HOST}:${webhookPort}/mutate-pods`;
    await kc([
      'patch',
      'mutatingwebhookconfiguration',
      webhookName.metadata.name,
      '--type=json',
      '-p',
      JSON.stringify(
        webhookName.webhooks.map((_, i) => ({
          op: 'replace',
          path: `/webhooks/${i}/clientConfig`,
          value: { url },
        })),
      ),
    ]);
    const serviceAccount = findManifest<{ metadata: { name: string } }>(release, 'ServiceAccount').metadata
      .name;
    const operator = await startOperatorProcess({
      env: operatorEnvFromChart(release, OPERATOR_POD),
      kubeconfig: await serviceAccountKubeconfig({
        adminKubeconfig: o.kubeconfig,
        namespace: OPERATOR_NAMESPACE,
        serviceAccount,
        file: path.join(o.workDir, 'operator.kubeconfig'),
      }),
      host: OPERATOR_HOST,
      logFile: path.join(o.workDir, 'operator.log'),
      httpPort,
      webhookPort,
    });
    stops.push(() => operator.stop());
    log(
      `operator (pid ${operator.pid}, ServiceAccount ${OPERATOR_NAMESPACE}/${serviceAccount}) at ${operator.httpUrl}`,
    );
    await until('the operator to publish the webhook caBundle', 60_000, async () => {
      const res = await kc([
        'get',
        'mutatingwebhookconfiguration',
        webhookName.metadata.name,
        '-o',
        'jsonpath={range .webhooks[*]}{.clientConfig.caBundle}{"\\n"}{end}',
      ]);
      const bundles = res.stdout.split('\n').filter((l) => l.trim() !== '');
      return bundles.length === webhookName.webhooks.length ? true : undefined;
    });
    log(`injection webhook at ${operator.webhookUrl}, its caBundle set by the operator`);

    // --- prometheus (early: it takes a few seconds to discover its targets) ----------------------
    const apiUrl = `http://${APP_POD_IP}:${SIDECAR_LISTEN_PORT}`;
    const sidecarAdminUrl = `http://${APP_POD_IP}:${SIDECAR_ADMIN_PORT}`;
    const prometheus = await startPrometheus({
      // The chart's alerts (what metrics.prometheusRule ships), evaluated against the real metrics.
      ruleFiles: [path.join(CHART_DIR, 'files/prometheus-rules.yaml')],
      targets: [
        { job: 'scopegate-operator', url: `${operator.httpUrl}/metrics` },
        {
          job: 'scopegate-sidecar',
          url: `${sidecarAdminUrl}/metrics`,
          labels: { namespace: APP_NAMESPACE, pod: APP_POD },
        },
      ],
    });
    stops.push(() => prometheus.stop());

    // --- resources -------------------------------------------------------------------------------
    const endpoints = {
      idp: { issuer: idp.issuer, jwksUri: idp.jwksUri, caPem: idp.caPem, audience: idp.audience },
      vendors: Object.fromEntries(
        VENDORS.map((v) => [v, { issuer: defaultIssuer(v), jwksUri: vendorJwks[v].uri, caPem: ca.caPem }]),
      ) as Record<ProviderKind, { issuer: string; jwksUri: string; caPem: string }>,
    };
    log(
      `applying 5 AuthorizationServers and 2 ApiRoles in namespace ${APP_NAMESPACE}, 1 ApiRole in ${OTHER_NAMESPACE}`,
    );
    await kc(['apply', '-f', '-'], asList([...authorizationServers(endpoints), ...apiRoles()]));
    for (const kind of ['authorizationservers', 'apiroles']) {
      await kc(['wait', '--for=condition=Ready', '--timeout=60s', '-n', APP_NAMESPACE, kind, '--all']);
    }

    // --- the sample app pod ----------------------------------------------------------------------
    log('creating the sample API pod; the webhook injects the sidecar');
    // A pod left by an earlier run on the same cluster has no kubelet any more: remove it at once.
    await kc([
      'delete',
      'pod',
      APP_POD,
      '-n',
      APP_NAMESPACE,
      '--ignore-not-found',
      '--grace-period=0',
      '--force',
    ]);
    await kc(['create', '-f', '-'], JSON.stringify(samplePod()));
    const kubelet = await startFakeKubelet({
      kubeconfig: o.kubeconfig,
      logDir: path.join(o.workDir, 'pods'),
    });
    stops.push(() => kubelet.stop());
    const pod = await kubelet.runPod({
      namespace: APP_NAMESPACE,
      name: APP_POD,
      podIp: APP_POD_IP,
      readyTimeoutMs: 60_000,
    });
    log(`pod ${APP_NAMESPACE}/${APP_POD} is Ready on ${APP_POD_IP} (fake kubelet); API at ${apiUrl}`);

    await prometheus.waitFor('up == 1', (v) => v.length === 2, 30_000);
    log(`Prometheus at ${prometheus.url} scrapes the operator and the sidecar every second`);

    // --- callers ---------------------------------------------------------------------------------
    const tokens = new Map<CallerName, string | undefined>();
    const token = async (caller: CallerName): Promise<string | undefined> => {
      if (tokens.has(caller)) return tokens.get(caller);
      const spec = CALLERS[caller];
      let value: string | undefined;
      if (spec.kind === 'idp') value = await idp.token(spec.clientId);
      else if (spec.kind === 'vendor') {
        const expired = 'expired' in spec && spec.expired;
        value = await mintProviderShapedToken(spec.vendor, {
          key: vendorKeys[spec.vendor],
          audience: 'audience' in spec ? spec.audience : VENDOR_AUDIENCE,
          clientId: spec.clientId,
          roles: [...spec.roles],
          ...(expired ? { issuedAt: Math.floor(Date.now() / 1000) - 7200 } : {}),
        });
      } else if (spec.kind === 'forged') value = forge((await token(spec.from as CallerName))!);
      tokens.set(caller, value);
      return value;
    };

    const call: Scenario['call'] = async (c) => {
      const t = await token(c.caller);
      const requestId = randomUUID();
      const res = await httpRequest(`${apiUrl}${c.path}`, {
        method: c.method,
        headers: {
          'x-request-id': requestId,
          ...(t ? { authorization: `Bearer ${t}` } : {}),
          ...(c.body ? { 'content-type': 'application/json' } : {}),
          ...c.headers,
        },
        ...(c.body ? { body: JSON.stringify(c.body) } : {}),
      });
      const code = (res.json as { code?: unknown } | undefined)?.code;
      return {
        caller: c.caller,
        method: c.method,
        path: c.path,
        status: res.status,
        reason: res.status < 400 ? 'allowed' : typeof code === 'string' ? code : `http_${res.status}`,
        body: res.json ?? res.body,
        requestId,
      };
    };

    const scenario: Scenario = {
      kubeconfig: o.kubeconfig,
      idp,
      operator,
      kubelet,
      pod,
      prometheus,
      apiUrl,
      sidecarAdminUrl,
      kubectl: kc,
      token,
      call,
      async runCalls(calls) {
        const out: CallResult[] = [];
        for (const c of calls) out.push(await call(c));
        return out;
      },
      auditRecords: () => parseAuditRecords(pod.logs(SIDECAR_CONTAINER)),
      async grantReaderPost(timeoutMs = 30_000) {
        const started = Date.now();
        const reader = apiRoles({ readerCanPost: true }).filter(
          (r) => (r as { metadata: { name: string } }).metadata.name === 'reader',
        );
        await kc(['apply', '-f', '-'], asList(reader));
        await until('the reader to be allowed to POST', timeoutMs, async () => {
          const r = await call({
            caller: 'reader',
            method: 'POST',
            path: '/v1/items',
            body: { name: 'by the reader' },
          });
          return r.status === 201 ? r : undefined;
        });
        return { propagationMs: Date.now() - started };
      },
      async rotateIdpKeys(timeoutMs = 60_000) {
        const kid = await idp.rotateKeys();
        const started = Date.now();
        const fresh = await idp.token('inventory-admin');
        await until(
          `a token signed by the new key ${kid} to be accepted`,
          timeoutMs,
          async () => {
            const res = await httpRequest(`${apiUrl}/v1/items`, {
              headers: { authorization: `Bearer ${fresh}` },
            });
            return res.status === 200 ? true : undefined;
          },
          1000,
        );
        tokens.delete('admin');
        return { kid, acceptedAfterMs: Date.now() - started };
      },
      stop: stopAll,
    };
    return scenario;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The token with its payload edited (the scope claim rewritten to admin) and the signature kept. */
function forge(token: string): string {
  const [header, , signature] = token.split('.');
  const claims = decodeJwt(token);
  const edited = { ...claims, scope: `${TENANT.cloud}::${TENANT.orgId}::admin` };
  return `${header}.${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${signature}`;
}

export function parseAuditRecords(log: string): AuditRecord[] {
  const records: AuditRecord[] = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as { schema?: unknown };
      if (parsed.schema === AUDIT_SCHEMA) records.push(parsed as AuditRecord);
    } catch {
      // a partial line at the end of the file
    }
  }
  return records;
}
