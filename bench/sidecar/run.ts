/**
 * Sidecar throughput and latency, side by side in one run (`npm run bench:sidecar`):
 *
 *   direct   the application alone
 *   bare     a bare Fastify + reply-from proxy with the sidecar's proxy settings
 *   reused   the real sidecar (standalone CLI), every request with the same RS256 token
 *   fresh    the real sidecar, every request with a different RS256 token (more tokens than the
 *            token cache holds, cycled, so each one is verified)
 *
 * Servers run on core 0 (`taskset -c 0`), this process and its load generator on core 1. Each
 * variant gets a short warm-up and a measured run; RSS is sampled from /proc while under load.
 * The result is printed and written into docs/benchmarks.md between the sidecar markers.
 * Not a test: numbers depend on the machine; only the ratios to the bare proxy are comparable.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Result } from 'autocannon';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DIST = join(REPO, 'dist');
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP_S = Number(process.env.BENCH_WARMUP ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
/** Above the sidecar's token cache (10 000 entries, LRU): cycling them misses the cache every time. */
const FRESH_TOKENS = 12_000;
const PATH = '/orders/42';

interface Variant {
  name: string;
  label: string;
  url: string;
  pid: number;
  tokens?: string[];
  /** The sidecar's admin URL, to read how many tokens were verified (token cache misses). */
  adminUrl?: string;
}

interface Row {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  rssMb: number;
  errors: number;
  /** CPU time of the measured server per request, and of server + app together (µs). */
  cpuUs: number;
  cpuWithAppUs: number;
  /** Signature verifications per request (sidecar only): 1 = every token verified, ~0 = cache hits. */
  verificationsPerRequest?: number;
}

async function cacheMisses(adminUrl: string | undefined): Promise<number> {
  if (adminUrl === undefined) return 0;
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return Number(/^scopegate_sidecar_token_cache_misses_total (\S+)$/m.exec(text)?.[1] ?? 0);
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** utime + stime of a process, in seconds. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / TICKS_PER_SECOND;
}

const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
    server.on('error', reject);
  });
}

/** Starts a server process on core 0 and waits for its readiness line (or a ready URL). */
async function startServer(args: string[], ready: RegExp | URL): Promise<ChildProcess> {
  const command = pinned ? 'taskset' : process.execPath;
  const child = spawn(command, pinned ? ['-c', '0', process.execPath, ...args] : args, {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poller);
      child.kill('SIGKILL');
      reject(new Error(`not ready in time: ${args.join(' ')}\n${output}`));
    }, 30_000);
    const done = () => {
      clearTimeout(timer);
      clearInterval(poller);
      resolve();
    };
    const check = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready instanceof RegExp && ready.test(output)) done();
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    const poller = setInterval(() => {
      if (ready instanceof URL)
        void fetch(ready).then(
          (res) => res.ok && done(),
          () => undefined,
        );
    }, 200);
    child.on('exit', (code) => {
      clearInterval(poller);
      reject(new Error(`exited with ${code}: ${args.join(' ')}\n${output}`));
    });
  });
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** The node process behind a `taskset` wrapper is the wrapper's pid (taskset execs). */
const serverPid = (child: ChildProcess) => child.pid as number;

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** RS256 tokens signed with node:crypto (much faster to mint in bulk than through jose). */
function mintTokens(privatePem: string, count: number): string[] {
  const key = createPrivateKey(privatePem);
  const header = b64url({ alg: 'RS256', kid: 'bench', typ: 'JWT' });
  const now = Math.floor(Date.now() / 1000);
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    const payload = b64url({
      iss: 'https://idp.bench',
      aud: 'api://orders',
      sub: `client-${i % 50}`,
      cid: `client-${i % 50}`,
      scp: ['bench::1::reader'],
      iat: now,
      exp: now + 3600,
      jti: `t${i}`,
    });
    const input = `${header}.${payload}`;
    tokens.push(`${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`);
  }
  return tokens;
}

/** Position in the token list, kept across the warm-up and the measured run so no token repeats early. */
const cursors = new Map<Variant, { next: number }>();

async function load(variant: Variant, duration: number): Promise<Result> {
  const tokens = variant.tokens;
  const base = { url: variant.url + PATH, connections: CONNECTIONS, pipelining: 1, duration };
  if (tokens === undefined) return autocannon(base);
  if (tokens.length === 1) return autocannon({ ...base, headers: { authorization: `Bearer ${tokens[0]}` } });
  let cursor = cursors.get(variant);
  if (cursor === undefined) cursors.set(variant, (cursor = { next: 0 }));
  const position = cursor;
  return autocannon({
    ...base,
    requests: [
      {
        method: 'GET',
        path: PATH,
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, authorization: `Bearer ${tokens[position.next++ % tokens.length]}` },
        }),
      },
    ],
  });
}

async function measure(variant: Variant, appPid: number): Promise<Row> {
  await load(variant, WARMUP_S);
  let maxRss = 0;
  const sampler = setInterval(() => {
    void rssMb(variant.pid).then((mb) => (maxRss = Math.max(maxRss, mb)));
  }, 250);
  const missesBefore = await cacheMisses(variant.adminUrl);
  const [cpuBefore, appBefore] = await Promise.all([cpuSeconds(variant.pid), cpuSeconds(appPid)]);
  const result = await load(variant, DURATION_S);
  const [cpuAfter, appAfter] = await Promise.all([cpuSeconds(variant.pid), cpuSeconds(appPid)]);
  const missesAfter = await cacheMisses(variant.adminUrl);
  clearInterval(sampler);
  maxRss = Math.max(maxRss, await rssMb(variant.pid));
  const total = Math.max(1, result.requests.total);
  const cpuUs = ((cpuAfter - cpuBefore) * 1e6) / total;
  const appUs = variant.pid === appPid ? 0 : ((appAfter - appBefore) * 1e6) / total;
  return {
    ...(variant.adminUrl === undefined
      ? {}
      : { verificationsPerRequest: (missesAfter - missesBefore) / total }),
    cpuUs,
    cpuWithAppUs: cpuUs + appUs,
    label: variant.label,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    rssMb: maxRss,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

function table(rows: Row[]): string {
  const bare = rows.find((r) => r.label.startsWith('bare'));
  const bareRps = bare?.rps ?? 1;
  const bareCapacity = 1e6 / (bare?.cpuWithAppUs ?? 1);
  const lines = [
    '| variant | req/s | vs bare | p50 ms | p99 ms | RSS under load | CPU µs/req (server) | CPU µs/req (server + app) | req/s per core, from CPU | vs bare, from CPU | verifications/req | non-2xx/errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => {
      const capacity = 1e6 / r.cpuWithAppUs;
      return `| ${r.label} | ${Math.round(r.rps)} | ${(r.rps / bareRps).toFixed(2)}× | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.rssMb.toFixed(0)} MB | ${r.cpuUs.toFixed(0)} | ${r.cpuWithAppUs.toFixed(0)} | ${Math.round(capacity)} | ${(capacity / bareCapacity).toFixed(2)}× | ${r.verificationsPerRequest === undefined ? '—' : r.verificationsPerRequest.toFixed(2)} | ${r.errors} |`;
    }),
  ];
  return lines.join('\n');
}

async function writeDocs(markdown: string): Promise<void> {
  const file = join(REPO, 'docs/benchmarks.md');
  const start = '<!-- sidecar-bench:start -->';
  const end = '<!-- sidecar-bench:end -->';
  let text = await readFile(file, 'utf8').catch(() => '# Benchmarks\n');
  const block = `${start}\n${markdown}\n${end}`;
  if (text.includes(start) && text.includes(end)) {
    text = text.slice(0, text.indexOf(start)) + block + text.slice(text.indexOf(end) + end.length);
  } else {
    text = `${text.trimEnd()}\n\n## Sidecar throughput and latency\n\n${block}\n`;
  }
  await writeFile(file, text);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'scopegate-bench-'));
  const children: ChildProcess[] = [];
  try {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };
    const resources = join(dir, 'resources.yaml');
    await writeFile(
      resources,
      `apiVersion: scopegate.io/v1alpha1
kind: AuthorizationServer
metadata: {name: bench}
spec:
  provider: Okta
  issuer: https://idp.bench
  audiences: [api://orders]
  jwks:
    inline:
      keys: [${JSON.stringify(jwk)}]
---
apiVersion: scopegate.io/v1alpha1
kind: ApiRole
metadata: {name: reader}
spec:
  permissions:
    - {name: read-orders, paths: [/orders/**], access: ViewOnly}
`,
    );
    const started = Date.now();
    const tokens = mintTokens(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, FRESH_TOKENS);
    console.error(`minted ${tokens.length} RS256 tokens in ${Date.now() - started} ms`);

    const [appPort, barePort, sidecarPort, adminPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const app = await startServer([join(DIST, 'bench/sidecar/app-server.js'), String(appPort)], /ready/);
    children.push(app);
    const upstream = `http://127.0.0.1:${appPort}`;
    const bare = await startServer(
      [join(DIST, 'bench/sidecar/bare-proxy.js'), String(barePort), upstream],
      /ready/,
    );
    children.push(bare);
    const sidecar = await startServer(
      [
        join(DIST, 'operator/src/cli.js'),
        'sidecar',
        '--resources',
        resources,
        '--cloud',
        'bench',
        '--org-id',
        '1',
        '--upstream',
        upstream,
        '--listen',
        `127.0.0.1:${sidecarPort}`,
        '--admin',
        `127.0.0.1:${adminPort}`,
        '--audit-log',
        join(dir, 'audit.jsonl'),
        '--log-level',
        'warn',
      ],
      new URL(`http://127.0.0.1:${adminPort}/readyz`),
    );
    children.push(sidecar);

    const variants: Variant[] = [
      { name: 'direct', label: 'app direct', url: upstream, pid: serverPid(app) },
      {
        name: 'bare',
        label: 'bare Fastify + reply-from proxy',
        url: `http://127.0.0.1:${barePort}`,
        pid: serverPid(bare),
      },
      {
        name: 'reused',
        label: 'sidecar, reused token',
        url: `http://127.0.0.1:${sidecarPort}`,
        pid: serverPid(sidecar),
        adminUrl: `http://127.0.0.1:${adminPort}`,
        tokens: [tokens[0] as string],
      },
      {
        name: 'fresh',
        label: 'sidecar, fresh RS256 token per request',
        url: `http://127.0.0.1:${sidecarPort}`,
        pid: serverPid(sidecar),
        adminUrl: `http://127.0.0.1:${adminPort}`,
        tokens,
      },
    ];
    const rows: Row[] = [];
    for (const variant of variants) {
      console.error(`measuring ${variant.label} (${WARMUP_S}s warm-up + ${DURATION_S}s)...`);
      rows.push(await measure(variant, serverPid(app)));
    }
    // The app's RSS is only its own; for the proxies the app runs beside them on core 0.
    const cpu = cpus()[0]?.model ?? 'unknown CPU';
    const markdown = [
      `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench:sidecar\` on ${cpu} (${cpus().length} cores, load average`,
      `${loadavg()[0]?.toFixed(1)} at the end of the run, other work included), Node ${process.version};`,
      `${pinned ? 'servers pinned to core 0 and autocannon to core 1' : 'taskset unavailable: processes not pinned'};`,
      `${CONNECTIONS} connections, ${WARMUP_S} s warm-up then ${DURATION_S} s per variant, GET ${PATH} answered with a 48-byte JSON body.`,
      'The proxies and the app share core 0. The sidecar runs the real CLI (standalone, inline JWKS, audit to a file,',
      'metrics on). "fresh" cycles through 12 000 pre-minted RS256 tokens, more than the 10 000-entry token cache, so',
      'every request verifies a signature. RSS is the largest VmRSS of the measured server process during the run.',
      'CPU columns divide the utime + stime of the server process (and of the app beside it) by the requests served:',
      'unlike req/s they hardly depend on what else runs on the machine, so "vs bare, from CPU" is the steadier ratio.',
      '',
      table(rows),
    ].join('\n');
    console.log(markdown);
    await writeDocs(markdown);
  } finally {
    for (const child of children.reverse()) await stop(child);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
