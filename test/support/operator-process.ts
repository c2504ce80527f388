/**
 * The scopegate operator as a real process (`node dist/operator/src/cli.js operator`), configured by
 * environment as the chart's Deployment configures its pod, on its own loopback address, with the
 * injection webhook served from the same process. Sidecars on 127.0.0.x reach it at that address;
 * the API server calls its webhook there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO_ROOT } from './fake-kubelet.js';
import { httpRequest } from './http-client.js';
import { killGroupNow, stopGroup } from './process-group.js';

export const SCOPEGATE_CLI = path.join(REPO_ROOT, 'dist/operator/src/cli.js');

export interface OperatorProcessOptions {
  /**
   * The operator's environment as its pod would get it (chart-install.ts reads it from the chart's
   * Deployment); only the addresses and the API server credentials are changed here.
   */
  env: Record<string, string>;
  /** Whose identity the operator uses (the chart's ServiceAccount, normally). */
  kubeconfig: string;
  /** Loopback address of the operator's ports; never 127.0.0.1 (a pod's own loopback). */
  host: string;
  logFile: string;
  /** Ports to use (default: free ones), e.g. when the webhook configuration must exist first. */
  httpPort?: number;
  webhookPort?: number;
  /** Default 60 s. */
  readyTimeoutMs?: number;
}

export interface OperatorProcess {
  /** `http://<host>:<port>`: /healthz, /readyz, /metrics, /v1/keys/refresh. */
  readonly httpUrl: string;
  /** `https://<host>:<port>/mutate-pods` */
  readonly webhookUrl: string;
  readonly pid: number;
  logs(): string;
  stop(): Promise<void>;
}

export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function startOperatorProcess(o: OperatorProcessOptions): Promise<OperatorProcess> {
  if (!fs.existsSync(SCOPEGATE_CLI)) throw new Error(`${SCOPEGATE_CLI} is missing: run \`make build\` first`);
  const httpPort = o.httpPort ?? (await freePort(o.host));
  const webhookPort = o.webhookPort ?? (await freePort(o.host));
  const httpUrl = `http://${o.host}:${httpPort}`;
  const args = [SCOPEGATE_CLI, 'operator'];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...o.env,
    // In a cluster: 0.0.0.0 in the pod, the Service's DNS name for sidecars, in-cluster credentials.
    SCOPEGATE_HTTP_ADDR: `${o.host}:${httpPort}`,
    SCOPEGATE_WEBHOOK_ADDR: `${o.host}:${webhookPort}`,
    SCOPEGATE_OPERATOR_URL: httpUrl,
    // The API server calls the webhook at this IP, so its certificate must name it.
    SCOPEGATE_WEBHOOK_EXTRA_HOSTS: [o.env.SCOPEGATE_WEBHOOK_EXTRA_HOSTS, o.host].filter(Boolean).join(','),
    KUBECONFIG: o.kubeconfig,
  };
  fs.mkdirSync(path.dirname(o.logFile), { recursive: true });
  const out = fs.openSync(o.logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const killNow = () => killGroupNow(child);
  process.on('exit', killNow);
  const logs = () => (fs.existsSync(o.logFile) ? fs.readFileSync(o.logFile, 'utf8') : '');

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopGroup(child, 10_000);
    process.off('exit', killNow);
  };

  const deadline = Date.now() + (o.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`the operator exited (${child.exitCode ?? child.signalCode}):\n${logs().slice(-4000)}`);
    }
    const ready = await httpRequest(`${httpUrl}/readyz`, { timeoutMs: 1000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the operator was not ready in time:\n${logs().slice(-4000)}`);
    }
    await sleep(200);
  }

  return {
    httpUrl,
    webhookUrl: `https://${o.host}:${webhookPort}/mutate-pods`,
    pid: child.pid!,
    logs,
    stop,
  };
}
