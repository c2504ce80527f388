/**
 * Config propagation at scale: the time from one ApiRole change to every sidecar acknowledging the
 * bundle that carries it, for 100 and 1,000 sidecar endpoints, and the operator's memory.
 *
 *   npm run build && node dist/bench/operator/propagation.js [--sidecars 100,1000] [--iterations 20]
 *        [--kubeconfig FILE]   (default: starts its own kube-apiserver + etcd on loopback)
 *
 * The operator runs as its own process (`scopegate operator`), exactly as shipped. The sidecars are
 * lightweight in-process HTTP servers on 127.0.x.y:15901 that do what a sidecar does with a push:
 * verify the ES256 signature against the operator's public key (jose compactVerify, once per
 * distinct bundle: see verifyOnce), refuse a revision that is not newer
 * (409), and acknowledge; GET /v1/config answers revision and digest. Pods are real Pod objects whose
 * status (podIP, running sidecar) the benchmark reports as a kubelet would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { compactVerify, importSPKI } from 'jose';
import type { SidecarConfig } from '../../sidecar/src/config/contract.js';
import { configDigest } from '../../sidecar/src/config/from-resources.js';
import type { KubeClient } from '../../operator/src/kube/client.js';
import { startControlPlane, type ControlPlane } from '../../test/support/control-plane.js';
import {
  applyCrds,
  CLI,
  createResource,
  createSidecarPod,
  eventually,
  freshNamespaces,
  httpGet,
  kubeClient,
  newRsaKey,
  patchSpec,
  reportPodRunning,
  TENANT,
} from '../../test/integration/operator/harness.js';

const NS = 'bench-propagation';
const SYSTEM = 'bench-system';
const ADMIN_PORT = 15901;
const OPERATOR_PORT = 18181;

interface FakeSidecar {
  ip: string;
  revision: number;
  digest: string | undefined;
  /** marker → when the bundle carrying it was acknowledged */
  ackedAt: Map<string, number>;
  server: http.Server;
}

type PublicKey = Awaited<ReturnType<typeof importSPKI>>;

/**
 * All endpoints share this one process, where real sidecars verify on their own CPUs: a bundle is
 * verified once, and every push of it is compared byte for byte with the verified text.
 */
const verified = new Map<string, Promise<SidecarConfig>>();
function verifyOnce(jws: string, publicKey: PublicKey): Promise<SidecarConfig> {
  let result = verified.get(jws);
  if (!result) {
    if (verified.size > 64) verified.clear();
    result = compactVerify(jws, publicKey).then(
      ({ payload }) => JSON.parse(Buffer.from(payload).toString('utf8')) as SidecarConfig,
    );
    verified.set(jws, result);
  }
  return result;
}

async function startFakeSidecar(ip: string, key: () => PublicKey | undefined): Promise<FakeSidecar> {
  const sidecar: FakeSidecar = {
    ip,
    revision: 0,
    digest: undefined,
    ackedAt: new Map(),
    server: undefined as never,
  };
  sidecar.server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/v1/config') {
      return sidecar.digest === undefined
        ? reply(404, { code: 'not_found' })
        : reply(200, { revision: sidecar.revision, digest: sidecar.digest });
    }
    if (req.method === 'PUT' && req.url === '/v1/config') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const publicKey = key();
        if (!publicKey) return reply(503, { code: 'no_key' });
        verifyOnce(Buffer.concat(chunks).toString('utf8'), publicKey).then(
          (config) => {
            if (config.revision <= sidecar.revision) return reply(409, { code: 'revision_not_newer' });
            sidecar.revision = config.revision;
            sidecar.digest = configDigest(config);
            const now = performance.now();
            for (const role of config.roles)
              for (const p of role.permissions)
                if (!sidecar.ackedAt.has(p.name)) sidecar.ackedAt.set(p.name, now);
            reply(200, { revision: sidecar.revision, digest: sidecar.digest });
          },
          () => reply(401, { code: 'bad_signature' }),
        );
      });
      return;
    }
    reply(404, { code: 'not_found' });
  });
  await new Promise<void>((resolve, reject) => {
    sidecar.server.once('error', reject);
    sidecar.server.listen(ADMIN_PORT, ip, () => resolve());
  });
  return sidecar;
}

const ipOf = (i: number) => `127.0.${10 + Math.floor(i / 250)}.${(i % 250) + 1}`;

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}

/** utime + stime of a process, in milliseconds (from /proc; clock ticks are 100 Hz on Linux). */
function cpuMsOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssOf(pid: number): { rssMb: number; peakMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;

async function runScenario(client: KubeClient, kubeconfig: string, count: number, iterations: number) {
  await freshNamespaces(client, [NS, SYSTEM]);
  const key = await newRsaKey('bench');
  await createResource(client, 'AuthorizationServer', NS, 'idp', {
    provider: 'Okta',
    issuer: 'https://idp.bench',
    jwks: { inline: { keys: [key.jwk] } },
  });
  await createResource(client, 'ApiRole', NS, 'reader', {
    permissions: [{ name: 'm-initial', paths: ['/v1/**'], access: 'ViewOnly' }],
  });

  let publicKey: PublicKey | undefined;
  const sidecars: FakeSidecar[] = [];
  await inBatches([...Array(count).keys()], 100, async (i) =>
    sidecars.push(await startFakeSidecar(ipOf(i), () => publicKey)),
  );
  const t0 = performance.now();
  await inBatches([...Array(count).keys()], 16, async (i) => {
    await createSidecarPod(client, {
      namespace: NS,
      name: `api-${i}`,
      ip: ipOf(i),
      adminPort: ADMIN_PORT,
      labels: { app: 'api' },
    });
    await reportPodRunning(client, NS, `api-${i}`, ipOf(i));
  });
  console.error(`[bench] ${count} pods created in ${Math.round(performance.now() - t0)} ms`);

  const operator: ChildProcess = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_OPERATOR_NODE_ARGS ?? '').split(' ').filter(Boolean),
      CLI,
      'operator',
      '--cloud',
      TENANT.cloudName,
      '--org-id',
      TENANT.orgId,
      '--namespaces',
      NS,
      '--namespace',
      SYSTEM,
      '--kubeconfig',
      kubeconfig,
      '--http-addr',
      `127.0.0.1:${OPERATOR_PORT}`,
      '--leader-elect',
      'false',
      '--log-level',
      process.env.BENCH_OPERATOR_LOG_LEVEL ?? 'warn',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  try {
    const pem = await eventually(
      'the public key',
      async () => {
        const cm = await client.request<{ data?: Record<string, string> }>(
          'GET',
          `/api/v1/namespaces/${SYSTEM}/configmaps/scopegate-config-public-key`,
        );
        return cm.data?.['public-key.pem'];
      },
      60_000,
    );
    publicKey = await importSPKI(pem, 'ES256');
    const initialStart = performance.now();
    await eventually(
      'every sidecar to get its first config',
      async () => sidecars.every((s) => s.ackedAt.has('m-initial')),
      120_000,
      50,
    );
    console.error(
      `[bench] initial sync of ${count} sidecars: ${Math.round(performance.now() - initialStart)} ms`,
    );
    await sleep(1000);

    const latencies: number[] = [];
    let peakRss = 0;
    const cpuBefore = cpuMsOf(operator.pid!);
    for (let i = 0; i < iterations; i++) {
      const marker = `m-${i}`;
      const start = performance.now();
      if (process.env.BENCH_OPERATOR_LOG_LEVEL)
        console.log(JSON.stringify({ bench: 'patch', time: Date.now(), marker }));
      await patchSpec(client, 'ApiRole', NS, 'reader', {
        permissions: [{ name: marker, paths: ['/v1/**', `/v${i + 2}/**`], access: 'ViewOnly' }],
      });
      await eventually(
        `all sidecars to ack ${marker}`,
        async () => sidecars.every((s) => s.ackedAt.has(marker)),
        60_000,
        5,
      );
      const last = Math.max(...sidecars.map((s) => s.ackedAt.get(marker) as number));
      latencies.push(last - start);
      peakRss = Math.max(peakRss, rssOf(operator.pid!).rssMb);
      await sleep(300);
    }
    const cpuMs = cpuMsOf(operator.pid!) - cpuBefore;
    const sorted = [...latencies].sort((a, b) => a - b);
    const rss = rssOf(operator.pid!);
    const metrics = (await httpGet(`http://127.0.0.1:${OPERATOR_PORT}/metrics`)).body;
    const propagationCount = /scopegate_operator_config_propagation_seconds_count (\d+)/.exec(metrics)?.[1];
    const propagationSum = /scopegate_operator_config_propagation_seconds_sum ([\d.e+-]+)/.exec(metrics)?.[1];
    return {
      sidecars: count,
      iterations,
      p50Ms: Math.round(percentile(sorted, 50)),
      p99Ms: Math.round(percentile(sorted, 99)),
      maxMs: Math.round(sorted[sorted.length - 1] as number),
      operatorRssMb: Math.round(rss.rssMb),
      operatorPeakRssMb: Math.round(Math.max(rss.peakMb, peakRss)),
      /** Operator CPU per change, and per sidecar reached: steadier than wall time on a busy machine. */
      operatorCpuMsPerChange: Math.round(cpuMs / iterations),
      operatorCpuUsPerSidecar: Math.round((cpuMs * 1000) / (iterations * count)),
      operatorPropagationMeanMs: propagationCount
        ? Math.round((Number(propagationSum) / Number(propagationCount)) * 1000)
        : undefined,
    };
  } finally {
    operator.kill('SIGTERM');
    await new Promise((r) => operator.once('exit', r));
    await Promise.all(
      sidecars.map(
        (s) =>
          new Promise((r) => {
            s.server.closeAllConnections();
            s.server.close(r);
          }),
      ),
    );
    await client.request('DELETE', `/api/v1/namespaces/${NS}/pods`, { query: { gracePeriodSeconds: 0 } });
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      sidecars: { type: 'string', default: '100,1000' },
      iterations: { type: 'string', default: '20' },
      kubeconfig: { type: 'string' },
    },
  });
  let cp: ControlPlane | undefined;
  let kubeconfig = values.kubeconfig;
  if (!kubeconfig) {
    cp = await startControlPlane({ log: (m) => console.error(`[control-plane] ${m}`) });
    kubeconfig = cp.kubeconfigPath;
  }
  const client = await kubeClient(kubeconfig);
  try {
    await applyCrds(kubeconfig);
    const results = [];
    for (const count of values.sidecars!.split(',').map(Number)) {
      const result = await runScenario(client, kubeconfig, count, Number(values.iterations));
      console.error(`[bench] ${JSON.stringify(result)}`);
      results.push(result);
    }
    const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(`Load average at the end: ${load} on ${(await import('node:os')).cpus().length} cores.\n`);
    console.log(
      '| sidecars | changes | p50 | p99 | max | operator CPU per change | per sidecar | operator RSS (end / peak) |',
    );
    console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of results) {
      console.log(
        `| ${r.sidecars} | ${r.iterations} | ${r.p50Ms} ms | ${r.p99Ms} ms | ${r.maxMs} ms | ${r.operatorCpuMsPerChange} ms | ${r.operatorCpuUsPerSidecar} µs | ${r.operatorRssMb} / ${r.operatorPeakRssMb} MB |`,
      );
    }
  } finally {
    client.close();
    await cp?.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
