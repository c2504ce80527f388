/**
 * A real Prometheus server (the Debian `prometheus` binary that test/tools/install.sh installs) on a
 * free loopback port with its own temporary config and storage, scraping the targets it is given.
 *
 *   const prom = await startPrometheus({ targets: [{ job: 'sidecar', url: 'http://127.0.0.2:15901/metrics' }] });
 *   await prom.waitFor('scopegate_sidecar_requests_total', (v) => v.length > 0);
 *   await prom.stop();
 *
 * It never uses 9090 (where a system Prometheus may run) and stops with the process that started it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { httpRequest } from './http-client.js';
import { killGroupNow, stopGroup } from './process-group.js';

export interface ScrapeTarget {
  job: string;
  /** Full metrics URL, e.g. http://127.0.0.2:15901/metrics. */
  url: string;
  /** Extra target labels (e.g. { pod: 'sample-api' }). */
  labels?: Record<string, string>;
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  /** Default '1s'. */
  scrapeInterval?: string;
  /** Alerting/recording rule files, copied into the server's directory. */
  ruleFiles?: string[];
  host?: string;
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface Prometheus {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly dir: string;
  /** An instant query; resolves with the vector (a scalar comes back as one sample with no labels). */
  query(promql: string): Promise<Sample[]>;
  /** Polls `query` until `predicate` holds; rejects after timeoutMs (default 20 s) with the last result. */
  waitFor(promql: string, predicate: (v: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
  /** Replaces the scrape targets and reloads the configuration (no restart). */
  setTargets(targets: ScrapeTarget[]): Promise<void>;
  /** The active targets' health as Prometheus sees it. */
  targets(): Promise<{ job: string; url: string; health: string; lastError: string }[]>;
  /** The loaded alerting and recording rules with their evaluation health and alert state. */
  rules(): Promise<
    { group: string; name: string; type: string; health: string; state?: string; lastError?: string }[]
  >;
  stop(): Promise<void>;
}

export function prometheusBinary(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PROMETHEUS_BINARY) return env.PROMETHEUS_BINARY;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'prometheus');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error('prometheus not found on PATH; run `make tools` (installs the Debian prometheus package)');
}

/** Renders prometheus.yml: one scrape job per distinct `job`, one static target per URL. */
export function renderPrometheusConfig(o: {
  targets: ScrapeTarget[];
  scrapeInterval: string;
  ruleFiles: string[];
}): string {
  const jobs = new Map<string, ScrapeTarget[]>();
  for (const t of o.targets) jobs.set(t.job, [...(jobs.get(t.job) ?? []), t]);
  const scrapeConfigs = [...jobs].flatMap(([job, targets]) => {
    // Targets of one job may differ in scheme or path; Prometheus sets those per scrape config.
    const groups = new Map<string, ScrapeTarget[]>();
    for (const t of targets) {
      const u = new URL(t.url);
      const k = `${u.protocol}${u.pathname}`;
      groups.set(k, [...(groups.get(k) ?? []), t]);
    }
    return [...groups.values()].map((group, i) => {
      const u = new URL(group[0]!.url);
      return {
        job_name: groups.size === 1 ? job : `${job}-${i}`,
        scheme: u.protocol.replace(':', ''),
        metrics_path: u.pathname,
        static_configs: group.map((t) => ({
          targets: [new URL(t.url).host],
          labels: { ...(groups.size === 1 ? {} : { job }), ...t.labels },
        })),
      };
    });
  });
  return stringify({
    global: {
      scrape_interval: o.scrapeInterval,
      scrape_timeout: o.scrapeInterval,
      evaluation_interval: o.scrapeInterval,
    },
    ...(o.ruleFiles.length > 0 ? { rule_files: o.ruleFiles } : {}),
    scrape_configs: scrapeConfigs,
  });
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPrometheus(opts: PrometheusOptions): Promise<Prometheus> {
  const host = opts.host ?? '127.0.0.1';
  const scrapeInterval = opts.scrapeInterval ?? '1s';
  const binary = prometheusBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-prom-'));
  const ruleFiles = (opts.ruleFiles ?? []).map((f, i) => {
    const dest = path.join(dir, `rules-${i}-${path.basename(f)}`);
    fs.copyFileSync(f, dest);
    return dest;
  });
  const configFile = path.join(dir, 'prometheus.yml');
  const writeConfig = (targets: ScrapeTarget[]) =>
    fs.writeFileSync(configFile, renderPrometheusConfig({ targets, scrapeInterval, ruleFiles }));
  writeConfig(opts.targets);
  const logFile = path.join(dir, 'prometheus.log');

  let child: ChildProcess | undefined;
  let url = '';
  const killNow = () => killGroupNow(child);
  process.on('exit', killNow);

  // A free port can be taken between probing and binding: try a few.
  for (let attempt = 0; attempt < 3 && url === ''; attempt++) {
    const port = await freePort(host);
    const log = fs.openSync(logFile, 'a');
    const proc = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=${host}:${port}`,
        '--web.enable-lifecycle',
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { cwd: dir, detached: true, stdio: ['ignore', log, log] },
    );
    fs.closeSync(log);
    child = proc;
    const candidate = `http://${host}:${port}`;
    if (await waitReady(candidate, proc, opts.readyTimeoutMs ?? 30_000)) url = candidate;
    else killNow();
  }
  if (url === '') {
    const log = fs.readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
    process.off('exit', killNow);
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`prometheus did not become ready:\n${log}`);
  }

  const query = async (promql: string): Promise<Sample[]> => {
    const res = await httpRequest(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = res.json as
      { status: string; error?: string; data?: { resultType: string; result: unknown } } | undefined;
    if (res.status !== 200 || body?.status !== 'success' || body.data === undefined) {
      throw new Error(`prometheus query ${promql} failed: ${res.status} ${body?.error ?? res.body}`);
    }
    const { resultType, result } = body.data;
    if (resultType === 'scalar') return [{ metric: {}, value: Number((result as [number, string])[1]) }];
    if (resultType !== 'vector') throw new Error(`prometheus query ${promql}: unexpected ${resultType}`);
    return (result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
      metric: s.metric,
      value: Number(s.value[1]),
    }));
  };

  let stopped = false;
  return {
    url,
    dir,
    query,
    async waitFor(promql, predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Sample[] = [];
      for (;;) {
        last = await query(promql);
        if (predicate(last)) return last;
        if (Date.now() > deadline) {
          throw new Error(
            `prometheus: ${promql} did not satisfy the condition in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
          );
        }
        await sleep(250);
      }
    },
    async setTargets(targets) {
      writeConfig(targets);
      const res = await httpRequest(`${url}/-/reload`, { method: 'POST' });
      if (res.status !== 200) throw new Error(`prometheus reload failed: ${res.status} ${res.body}`);
    },
    async targets() {
      const res = await httpRequest(`${url}/api/v1/targets?state=active`);
      const active = (res.json as { data: { activeTargets: Record<string, unknown>[] } }).data.activeTargets;
      return active.map((t) => ({
        job: String((t.labels as Record<string, string>).job),
        url: String(t.scrapeUrl),
        health: String(t.health),
        lastError: String(t.lastError ?? ''),
      }));
    },
    async rules() {
      const res = await httpRequest(`${url}/api/v1/rules`);
      const groups = (res.json as { data: { groups: { name: string; rules: Record<string, unknown>[] }[] } })
        .data.groups;
      return groups.flatMap((g) =>
        g.rules.map((r) => ({
          group: g.name,
          name: String(r.name),
          type: String(r.type),
          health: String(r.health),
          ...(r.state !== undefined ? { state: String(r.state) } : {}),
          ...(r.lastError ? { lastError: String(r.lastError) } : {}),
        })),
      );
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopGroup(child!, 5000);
      process.off('exit', killNow);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string, proc: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) return false;
    try {
      if ((await httpRequest(`${url}/-/ready`, { timeoutMs: 1000 })).status === 200) return true;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return false;
}
