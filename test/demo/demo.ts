/**
 * `make demo`: the whole of scopegate on this machine, for a person. Starts a local control plane
 * (etcd + kube-apiserver), a real OAuth 2.0 authorization server, the operator with its injection
 * webhook, a sample API pod that the webhook injects (run by a stand-in kubelet) and Prometheus; shows
 * the scopes to paste into an identity provider, a table of allowed and denied calls, a role change
 * and a key rotation taking effect live, audit records and a Prometheus query; then stays up with
 * copy-paste commands until Ctrl-C, and stops everything it started.
 *
 *   node dist/test/demo/demo.js            # stays up until Ctrl-C
 *   node dist/test/demo/demo.js --once     # (or DEMO_EXIT=1) runs the scenario and exits: 0 when all went as expected
 *   node dist/test/demo/demo.js --kubeconfig FILE   # use a running cluster (make cluster-up) instead of starting one
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startControlPlane, type ControlPlane } from '../support/control-plane.js';
import { startScenario, type CallResult, type Scenario } from '../support/scenario.js';
import {
  APP_NAMESPACE,
  CALLERS,
  IDP_CLIENTS,
  READER_CAN_POST,
  STANDARD_CALLS,
  type ExpectedCall,
} from '../support/scenario-resources.js';
import { formatTable, style } from './format.js';

interface DemoOptions {
  once: boolean;
  kubeconfig?: string;
}

function parseDemoArgs(argv: string[], env: NodeJS.ProcessEnv): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      once: { type: 'boolean' },
      kubeconfig: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'Usage: node dist/test/demo/demo.js [--once] [--kubeconfig FILE]\n  --once (or DEMO_EXIT=1): run the scenario and exit',
    );
    process.exit(0);
  }
  return {
    once:
      values.once === true || (env.DEMO_EXIT !== undefined && env.DEMO_EXIT !== '' && env.DEMO_EXIT !== '0'),
    ...(values.kubeconfig ? { kubeconfig: path.resolve(values.kubeconfig) } : {}),
  };
}

const step = (message: string) => console.log(`${style.dim('▸')} ${message}`);
const heading = (title: string) => console.log(`\n${style.bold(title)}`);

function callRows(
  calls: readonly ExpectedCall[],
  results: CallResult[],
): { rows: string[][]; failures: number } {
  let failures = 0;
  const rows = results.map((r, i) => {
    const want = calls[i]!;
    const ok = r.status === want.status && r.reason === want.reason;
    if (!ok) failures += 1;
    const spec = CALLERS[r.caller];
    const client = 'clientId' in spec ? spec.clientId : r.caller;
    return [
      r.caller,
      client,
      `${r.method} ${r.path}${want.note ? ` (${want.note})` : ''}`,
      String(r.status),
      r.reason,
      ok ? style.green('✓') : style.red(`✗ expected ${want.status} ${want.reason}`),
    ];
  });
  return { rows, failures };
}

async function runDemo(opts: DemoOptions): Promise<number> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-demo-'));
  let controlPlane: ControlPlane | undefined;
  let scenario: Scenario | undefined;
  let stopping: Promise<void> | undefined;
  const stopEverything = () =>
    (stopping ??= (async () => {
      console.log(`\n${style.dim('stopping everything ...')}`);
      await scenario?.stop();
      await controlPlane?.stop();
      fs.rmSync(workDir, { recursive: true, force: true });
      console.log('stopped: operator, sidecar, sample API, identity providers, Prometheus, control plane.');
    })());
  const onSignal = () => {
    void stopEverything().then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    console.log(
      style.bold('scopegate demo') +
        style.dim(' — everything runs on this machine, on 127.0.0.x; Ctrl-C stops it all'),
    );
    heading('Starting');
    let kubeconfig = opts.kubeconfig;
    if (kubeconfig === undefined) {
      step('control plane: etcd + kube-apiserver (the binaries envtest uses)');
      controlPlane = await startControlPlane();
      kubeconfig = controlPlane.kubeconfigPath;
      step(
        `control plane ready at ${controlPlane.server} in ${(controlPlane.startupMs / 1000).toFixed(1)} s`,
      );
    } else {
      step(`using the cluster of ${kubeconfig}`);
    }
    scenario = await startScenario({ kubeconfig, workDir, log: step });
    const s = scenario;

    heading('kubectl get scopegate -A   (the scope strings to configure in your identity provider)');
    console.log((await s.kubectl(['get', 'scopegate', '-A'])).stdout.trimEnd());

    heading('Calls through the sidecar');
    const results = await s.runCalls(STANDARD_CALLS);
    const table = callRows(STANDARD_CALLS, results);
    console.log(formatTable(['caller', 'client', 'request', 'status', 'reason', ''], table.rows));
    let failures = table.failures;

    heading('A role change, live: the reader may now POST /v1/items');
    step('kubectl apply -f reader.yaml   (adds { name: create-items, paths: [/v1/items], methods: [POST] })');
    const change = await s.grantReaderPost();
    const after = await s.runCalls([READER_CAN_POST]);
    const changeRows = callRows([READER_CAN_POST], after);
    failures += changeRows.failures;
    console.log(formatTable(['caller', 'client', 'request', 'status', 'reason', ''], changeRows.rows));
    step(`in effect ${(change.propagationMs / 1000).toFixed(1)} s after kubectl apply, nothing restarted`);

    heading('A signing key rotation at the identity provider');
    const rotation = await s.rotateIdpKeys();
    step(
      `new key ${rotation.kid}: its first token was accepted after ${(rotation.acceptedAfterMs / 1000).toFixed(1)} s (the sidecar asked the operator to refetch the JWKS)`,
    );

    heading(`Audit records (sidecar stdout, ${s.pod.logFile('scopegate-sidecar')})`);
    const records = s.auditRecords();
    const shown = [
      records.find((r) => r.decision === 'allow' && r.adminId?.startsWith('oauth-admin')),
      records.find((r) => r.decision === 'allow' && r.adminId?.startsWith('oauth-reader')),
      records.find((r) => r.reason === 'permission_denied'),
      records.find((r) => r.reason === 'scope_missing'),
    ].filter((r) => r !== undefined);
    for (const r of shown) console.log(JSON.stringify(r));
    step(
      `${records.length} records in all; allowed requests carry the admin ID oauth-<role>$@<orgId>.<cloudDomain>`,
    );

    heading('Prometheus: sum by (decision, reason) (scopegate_sidecar_requests_total)');
    const query = 'sum by (decision, reason) (scopegate_sidecar_requests_total)';
    const samples = await s.prometheus
      .waitFor(query, (v) => v.reduce((n, x) => n + x.value, 0) >= results.length, 30_000)
      .catch(() => s.prometheus.query(query));
    console.log(
      formatTable(
        ['decision', 'reason', 'requests'],
        samples
          .filter((x) => x.value > 0)
          .sort((a, b) => b.value - a.value)
          .map((x) => [x.metric.decision ?? '', x.metric.reason ?? '', String(x.value)]),
      ),
    );

    if (opts.once) {
      heading(
        failures === 0
          ? style.green('Every call got what it should.')
          : style.red(`${failures} call(s) did not get what they should.`),
      );
      return failures === 0 ? 0 : 1;
    }

    const caFile = path.join(workDir, 'idp-ca.pem');
    fs.writeFileSync(caFile, s.idp.caPem);
    const admin = IDP_CLIENTS[0]!;
    heading('Up and running. Try it:');
    console.log(`
  export KUBECONFIG=${kubeconfig}
  kubectl get scopegate -A
  kubectl get pod -n ${APP_NAMESPACE} -o wide
  kubectl edit apirole reader -n ${APP_NAMESPACE}      # takes effect in a second or two

  # a token from the authorization server (client credentials, HTTP Basic), token endpoint ${s.idp.tokenEndpoint}
  TOKEN=$(curl -s --cacert ${caFile} -u ${admin.clientId}:${admin.clientSecret} \\
    -d grant_type=client_credentials -d scope=${admin.scopes[0]} ${s.idp.tokenEndpoint} \\
    | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')

  # call the API through the sidecar
  curl -i -H "Authorization: Bearer $TOKEN" ${s.apiUrl}/v1/items
  curl -i -X POST -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"name":"mine"}' ${s.apiUrl}/v1/items

  Other clients: ${IDP_CLIENTS.slice(1)
    .map((c) => `${c.clientId}:${c.clientSecret}`)
    .join(', ')}
  Audit log:   tail -f ${s.pod.logFile('scopegate-sidecar')}
  Operator:    ${s.operator.httpUrl}/metrics   (log: ${path.join(workDir, 'operator.log')})
  Prometheus:  ${s.prometheus.url}/graph?g0.expr=${encodeURIComponent('sum by (decision, reason) (scopegate_sidecar_requests_total)')}

Press Ctrl-C to stop everything.`);
    await new Promise<never>(() => {}); // until a signal
    return 0;
  } catch (error) {
    console.error(`\n${style.red('demo failed:')} ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    if (opts.once || stopping === undefined) await stopEverything();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

runDemo(parseDemoArgs(process.argv.slice(2), process.env)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
