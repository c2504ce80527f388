// A real Kubernetes control plane for tests: etcd + kube-apiserver on 127.0.0.1, the same binaries
// controller-runtime's envtest runs (built by test/tools/install.sh, or from KUBEBUILDER_ASSETS).
//
//   const cp = await startControlPlane();
//   await kubectl(['get', 'ns'], { kubeconfig: cp.kubeconfigPath });
//   await cp.restartApiServer(); // same etcd, same port
//   await cp.stop();
//
// Each control plane lives in a fresh $TMPDIR/scopegate-cp-* directory (certificates, kubeconfig,
// etcd data, logs, state.json with the PIDs). stop() kills both process groups and removes it; so do
// process 'exit', SIGINT and SIGTERM. A run that was killed outright leaves the directory and its
// processes behind: the next startControlPlane() sweeps them (sweepStale()).
import 'reflect-metadata'; // @peculiar/x509 (through tsyringe) needs the Reflect metadata polyfill
import * as x509 from '@peculiar/x509';
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const K8S_VERSION = '1.36.3';
const DIR_PREFIX = 'scopegate-cp-';
const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
const KUBERNETES_SERVICE_IP = '10.0.0.1';

// ---------------------------------------------------------------------------------------------------
// Where the tools are

/** The tool cache: `$SCOPEGATE_CACHE`, else `~/.cache/scopegate` (same rule as install.sh). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SCOPEGATE_CACHE || path.join(os.homedir(), '.cache', 'scopegate');
}

/** Directory with kube-apiserver and etcd: `$KUBEBUILDER_ASSETS` when it has both, else the cache. */
export function assetsDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.KUBEBUILDER_ASSETS;
  if (
    fromEnv &&
    isExecutable(path.join(fromEnv, 'kube-apiserver')) &&
    isExecutable(path.join(fromEnv, 'etcd'))
  ) {
    return fromEnv;
  }
  return path.join(cacheDir(env), 'k8s', K8S_VERSION);
}

export type Tool = 'kubectl' | 'helm' | 'kube-apiserver' | 'etcd' | 'promtool' | 'prometheus';

/** Absolute path of a test tool; throws with a hint to run `make tools` when it is missing. */
export function toolPath(tool: Tool, env: NodeJS.ProcessEnv = process.env): string {
  const candidates: string[] = [];
  if (tool === 'kube-apiserver' || tool === 'etcd') {
    candidates.push(path.join(assetsDir(env), tool));
  } else if (tool === 'kubectl' || tool === 'helm') {
    candidates.push(path.join(cacheDir(env), 'bin', tool));
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir) candidates.push(path.join(dir, tool));
  }
  const found = candidates.find(isExecutable);
  if (!found)
    throw new Error(
      `${tool} not found (looked in ${candidates.slice(0, 2).join(', ')}, PATH); run \`make tools\``,
    );
  return found;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------------
// kubectl

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  kubeconfig: string;
  /** Written to stdin (for `apply -f -`). */
  input?: string;
  timeoutMs?: number;
}

/** Runs the cached real kubectl; resolves with its exit code and output (never rejects on exit code). */
export function kubectl(args: readonly string[], opts: KubectlOptions): Promise<CommandResult> {
  // A control plane's own kubeconfig: keep kubectl's discovery cache beside it rather than in
  // ~/.kube/cache, where every run (a new port each time) would leave one more directory.
  const dir = path.dirname(opts.kubeconfig);
  const cache = fs.existsSync(path.join(dir, 'state.json'))
    ? ['--cache-dir', path.join(dir, 'kubectl-cache')]
    : [];
  return run(toolPath('kubectl'), ['--kubeconfig', opts.kubeconfig, ...cache, ...args], opts);
}

/** Runs the cached real helm against the given kubeconfig. */
export function helm(args: readonly string[], opts: KubectlOptions): Promise<CommandResult> {
  return run(toolPath('helm'), ['--kubeconfig', opts.kubeconfig, ...args], opts);
}

function run(
  file: string,
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 60_000,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stderr = Buffer.concat(err).toString('utf8');
      resolve({
        code: code ?? 128,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: signal ? `${stderr}\n(killed by ${signal})` : stderr,
      });
    });
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

// ---------------------------------------------------------------------------------------------------
// The control plane

export interface ControlPlaneOptions {
  /** Directory with kube-apiserver and etcd; default assetsDir(). */
  assetsDir?: string;
  /**
   * Fixed state directory (wiped first). Default: a fresh $TMPDIR/scopegate-cp-* that stop() removes.
   * With a fixed dir, stop() leaves the (emptied) directory in place.
   */
  dir?: string;
  /**
   * Keep the processes running after this process exits (`make cluster-up`): no exit/signal
   * handlers, processes detached. Stop it with stopControlPlaneInDir(dir).
   */
  persistent?: boolean;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Appended to the kube-apiserver command line (later flags win). */
  extraApiServerArgs?: readonly string[];
  /** Progress messages; default: none. */
  log?: (message: string) => void;
}

export interface ControlPlane {
  /** Kubeconfig with the admin client certificate (CN admin, O system:masters). */
  readonly kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` — the same across restartApiServer(). */
  readonly server: string;
  /** State directory: ca.crt, admin.crt, admin.key, kubeconfig, *.log, state.json, etcd data. */
  readonly dir: string;
  /** `http://127.0.0.1:<port>` of etcd. */
  readonly etcdEndpoint: string;
  /** PEM of the CA that signed the serving and client certificates. */
  readonly caCertPem: string;
  /** Milliseconds from startControlPlane() to /readyz OK. */
  readonly startupMs: number;
  /**
   * Stops kube-apiserver (its process group) and waits until it is gone; etcd keeps running.
   * SIGTERM (default) is a graceful shutdown that closes watches; SIGKILL drops connections as a crash.
   */
  stopApiServer(opts?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Starts kube-apiserver again with the same flags and port; resolves when /readyz is OK. */
  startApiServer(): Promise<void>;
  /** stopApiServer() then startApiServer(). */
  restartApiServer(opts?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Kills both processes and removes the directory. Idempotent. */
  stop(): Promise<void>;
}

interface ProcState {
  pid: number;
  /** Start time (clock ticks since boot) from /proc, to tell a reused PID apart. */
  start: number | null;
}

interface StateFile {
  owner: ProcState;
  persistent: boolean;
  server?: string;
  kubeconfigPath?: string;
  etcd?: ProcState;
  apiserver?: ProcState;
}

interface Managed {
  dir: string;
  removeDir: boolean;
  procs: () => ProcState[];
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const t0 = performance.now();
  const log = opts.log ?? (() => {});
  const bin = opts.assetsDir ?? assetsDir();
  const etcdBin = path.join(bin, 'etcd');
  const apiserverBin = path.join(bin, 'kube-apiserver');
  for (const b of [etcdBin, apiserverBin]) {
    if (!isExecutable(b)) throw new Error(`${b} not found; run \`make tools\` or set KUBEBUILDER_ASSETS`);
  }

  await sweepStale();
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, { t0, log, etcdBin, apiserverBin });
    } catch (err) {
      // A free port taken by someone else between choosing it and binding it: choose again.
      if (attempt < 3 && String(err).includes('address already in use')) {
        log(`port taken, retrying (${String(err).split('\n')[0]})`);
        continue;
      }
      throw err;
    }
  }
}

async function startOnce(
  opts: ControlPlaneOptions,
  ctx: { t0: number; log: (m: string) => void; etcdBin: string; apiserverBin: string },
): Promise<ControlPlane> {
  const { t0, log, etcdBin, apiserverBin } = ctx;
  let dir: string;
  if (opts.dir) {
    await stopControlPlaneInDir(opts.dir, { removeDir: false });
    fs.rmSync(opts.dir, { recursive: true, force: true });
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    dir = opts.dir;
  } else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), DIR_PREFIX));
  }
  const persistent = opts.persistent ?? false;
  const state: StateFile = { owner: procState(process.pid), persistent };
  const writeState = () => writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify(state, null, 2));
  writeState();

  let etcd: ChildProcess | undefined;
  let apiserver: ChildProcess | undefined;
  let stopped = false;
  const managed: Managed = {
    dir,
    removeDir: !opts.dir,
    procs: () => [etcd, apiserver].flatMap((c) => (c?.pid ? [procState(c.pid)] : [])),
  };
  if (!persistent) registerForCleanup(managed);

  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    // kube-apiserver first: without etcd its graceful shutdown waits out the 10 s SIGKILL timer.
    await terminate(apiserver);
    await terminate(etcd);
    unregister(managed);
    if (managed.removeDir) fs.rmSync(dir, { recursive: true, force: true });
    else for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  };

  try {
    const pki = await writePki(dir);
    const [etcdPort, etcdPeerPort, apiPort] = await freePorts(3);
    const etcdEndpoint = `http://127.0.0.1:${etcdPort}`;
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfigPath = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfigPath, kubeconfigYaml(server, pki), { mode: 0o600 });
    Object.assign(state, { server, kubeconfigPath });

    const peer = `http://127.0.0.1:${etcdPeerPort}`;
    etcd = spawnLogged(
      etcdBin,
      [
        '--name=default',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=${etcdEndpoint}`,
        `--advertise-client-urls=${etcdEndpoint}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=default=${peer}`,
        '--unsafe-no-fsync=true', // throw-away data: skip fsync, as envtest does
        '--log-level=warn',
      ],
      path.join(dir, 'etcd.log'),
      persistent,
    );
    state.etcd = procState(etcd.pid!);
    writeState();

    const apiserverArgs = [
      `--etcd-servers=${etcdEndpoint}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${pki.saPublicKey}`,
      `--service-account-signing-key-file=${pki.saPrivateKey}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      '--authorization-mode=RBAC',
      '--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      // No controller-manager creates `default` service accounts, which this plugin requires of pods.
      '--disable-admission-plugins=ServiceAccount',
      '--allow-privileged=true',
      '--profiling=false',
      // API Priority and Fairness waits for its bootstrap configuration before /readyz: off, startup
      // takes ~5 s instead of ~10 s. Clients see no API difference (max-in-flight limits apply instead).
      '--enable-priority-and-fairness=false',
      ...(opts.extraApiServerArgs ?? []),
    ];
    const startApiServerProcess = async () => {
      // etcd may still be starting on the first call: the apiserver retries its connection itself.
      apiserver = spawnLogged(apiserverBin, apiserverArgs, path.join(dir, 'kube-apiserver.log'), persistent);
      state.apiserver = procState(apiserver.pid!);
      writeState();
      await waitReady(server, pki, apiserver, etcd!, dir, opts.readyTimeoutMs ?? 60_000);
    };

    log(`starting etcd (${etcdEndpoint}) and kube-apiserver (${server}) in ${dir}`);
    await startApiServerProcess();
    const startupMs = Math.round(performance.now() - t0);
    log(`control plane ready in ${startupMs} ms`);

    const stopApiServer = async (o: { signal?: 'SIGTERM' | 'SIGKILL' } = {}) => {
      await terminate(apiserver, o.signal);
      apiserver = undefined;
      delete state.apiserver;
      writeState();
    };
    return {
      kubeconfigPath,
      server,
      dir,
      etcdEndpoint,
      caCertPem: fs.readFileSync(pki.caCert, 'utf8'),
      startupMs,
      stopApiServer,
      startApiServer: async () => {
        if (stopped) throw new Error('control plane is stopped');
        if (apiserver && apiserver.exitCode === null && apiserver.signalCode === null) return;
        await startApiServerProcess();
      },
      restartApiServer: async (o?: { signal?: 'SIGTERM' | 'SIGKILL' }) => {
        await stopApiServer(o);
        await startApiServerProcess();
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
}

/** Stops a control plane from its state directory (written by a process that may have exited). */
export async function stopControlPlaneInDir(
  dir: string,
  opts: { removeDir?: boolean } = {},
): Promise<boolean> {
  const state = readState(dir);
  let killed = false;
  if (state) {
    for (const p of [state.apiserver, state.etcd]) {
      if (p && sameProcess(p, dir)) {
        killed = true;
        await terminateForeign(p.pid);
      }
    }
  }
  if (opts.removeDir ?? true) fs.rmSync(dir, { recursive: true, force: true });
  return killed;
}

/** Reads a control plane's state directory: its server, kubeconfig and whether its processes run. */
export function controlPlaneStatus(
  dir: string,
): { server: string; kubeconfigPath: string; running: boolean; owner: number } | undefined {
  const state = readState(dir);
  if (!state?.server || !state.kubeconfigPath) return undefined;
  const running = [state.etcd, state.apiserver].every((p) => p !== undefined && sameProcess(p, dir));
  return { server: state.server, kubeconfigPath: state.kubeconfigPath, running, owner: state.owner.pid };
}

/**
 * Kills the processes of control planes whose owner process is gone (an interrupted run) and removes
 * their directories. Persistent ones (`make cluster-up`) live elsewhere and are never touched.
 * Returns the directories removed.
 */
export async function sweepStale(root: string = os.tmpdir()): Promise<string[]> {
  let entries: string[];
  try {
    entries = fs.readdirSync(root).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return [];
  }
  const swept: string[] = [];
  for (const entry of entries) {
    const dir = path.join(root, entry);
    const state = readState(dir);
    if (state) {
      if (state.persistent || isAlive(state.owner)) continue;
    } else {
      // No state yet: a start in progress, or one killed before writing it. Leave young ones alone.
      const age = Date.now() - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < 10 * 60_000) continue;
    }
    await stopControlPlaneInDir(dir);
    swept.push(dir);
  }
  return swept;
}

// ---------------------------------------------------------------------------------------------------
// Processes

function spawnLogged(bin: string, args: string[], logFile: string, persistent: boolean): ChildProcess {
  const fd = fs.openSync(logFile, 'a');
  try {
    // detached: own process group (killed as a whole) that a terminal's Ctrl-C does not reach directly.
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new Error(`could not start ${bin}`);
    child.on('error', () => {}); // reported through exit / readiness
    if (persistent) child.unref();
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Signals the child's process group (SIGTERM by default), SIGKILL after 10 s; resolves once the child has exited. */
async function terminate(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child?.pid || exited(child)) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child.pid, signal);
  const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 10_000);
  await done;
  clearTimeout(timer);
  // Anything else left in the group (the binaries fork nothing, but be sure).
  killGroup(child.pid, 'SIGKILL');
}

/** Same for a process that is not our child (from a state file): polls /proc. */
async function terminateForeign(pid: number): Promise<void> {
  killGroup(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isRunning(pid) && Date.now() < deadline) await sleep(50);
  killGroup(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (isRunning(pid) && Date.now() < killDeadline) await sleep(50);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function procStat(pid: number): { state: string; start: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '?', start: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

function procState(pid: number): ProcState {
  return { pid, start: procStat(pid)?.start ?? null };
}

/** Running, i.e. exists and is not a zombie. */
function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  if (stat) return stat.state !== 'Z' && stat.state !== 'X';
  try {
    process.kill(pid, 0);
    return true; // no /proc: trust kill(0)
  } catch {
    return false;
  }
}

function isAlive(p: ProcState): boolean {
  if (!isRunning(p.pid)) return false;
  const start = procStat(p.pid)?.start;
  return p.start === null || start === undefined || start === p.start;
}

/** Alive, and its command line mentions the state dir (so a reused PID is never killed). */
function sameProcess(p: ProcState, dir: string): boolean {
  if (!isAlive(p)) return false;
  try {
    return fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

function readState(dir: string): StateFile | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as StateFile;
  } catch {
    return undefined;
  }
}

function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

// Cleanup when the process ends without stop(): synchronous, since 'exit' handlers cannot wait.
const live = new Set<Managed>();
let handlersInstalled = false;

function registerForCleanup(m: Managed): void {
  live.add(m);
  if (handlersInstalled) return;
  handlersInstalled = true;
  // Prepended: a runner's own handler may call process.exit() from its listener (vitest does, on
  // SIGINT and on 'exit'), which ends the process before any later listener runs.
  process.prependListener('exit', cleanupSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      cleanupSync();
      process.removeListener(signal, onSignal);
      // Nobody else handles it: behave as if we had not listened (default action: terminate).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.prependListener(signal, onSignal);
  }
}

function unregister(m: Managed): void {
  live.delete(m);
}

function cleanupSync(): void {
  for (const m of live) {
    for (const p of m.procs()) if (sameProcess(p, m.dir)) killGroup(p.pid, 'SIGKILL');
    if (m.removeDir) fs.rmSync(m.dir, { recursive: true, force: true });
  }
  live.clear();
}

async function freePorts(n: number): Promise<number[]> {
  // Hold all listeners open until every port is known, so the n ports differ.
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

async function waitReady(
  server: string,
  pki: Pki,
  apiserver: ChildProcess,
  etcd: ChildProcess,
  dir: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const tls = {
    ca: fs.readFileSync(pki.caCert),
    cert: fs.readFileSync(pki.adminCert),
    key: fs.readFileSync(pki.adminKey),
  };
  let last = '';
  for (;;) {
    for (const [name, child] of [
      ['kube-apiserver', apiserver],
      ['etcd', etcd],
    ] as const) {
      if (exited(child)) {
        throw new Error(
          `${name} exited (${child.exitCode ?? child.signalCode}) before the control plane was ready:\n` +
            tail(path.join(dir, `${name}.log`)),
        );
      }
    }
    last = await readyz(server, tls);
    if (last === 'ok') return;
    if (Date.now() > deadline) {
      throw new Error(
        `kube-apiserver not ready after ${timeoutMs} ms; last /readyz: ${last}\n` +
          tail(path.join(dir, 'kube-apiserver.log')),
      );
    }
    await sleep(100);
  }
}

function readyz(server: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<string> {
  return new Promise((resolve) => {
    const req = https.get(`${server}/readyz`, { ...tls, agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () =>
        resolve(res.statusCode === 200 ? body.trim() : `${res.statusCode}: ${body.trim()}`),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(e.message));
  });
}

function tail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Certificates and kubeconfig

interface Pki {
  caCert: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saPublicKey: string;
  saPrivateKey: string;
}

const EC: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = {
  name: 'ECDSA',
  namedCurve: 'P-256',
  hash: 'SHA-256',
};

async function writePki(dir: string): Promise<Pki> {
  x509.cryptoProvider.set(webcrypto);
  const file = (name: string) => path.join(dir, name);
  const notBefore = new Date(Date.now() - 60 * 60_000);
  const notAfter = new Date(Date.now() + 365 * 24 * 60 * 60_000);
  const gen = () => webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const [caKeys, servingKeys, adminKeys] = await Promise.all([gen(), gen(), gen()]);

  const caName = 'CN=scopegate-test-ca';
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });

  const leaf = async (
    subject: string,
    keys: webcrypto.CryptoKeyPair,
    usage: string,
    san?: x509.JsonGeneralNames,
  ) =>
    x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject,
      issuer: caName,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: EC,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
        ...(san ? [new x509.SubjectAlternativeNameExtension(san)] : []),
      ],
    });

  const serving = await leaf('CN=kube-apiserver', servingKeys, x509.ExtendedKeyUsage.serverAuth, [
    { type: 'dns', value: 'localhost' },
    { type: 'dns', value: 'kubernetes' },
    { type: 'dns', value: 'kubernetes.default' },
    { type: 'dns', value: 'kubernetes.default.svc' },
    { type: 'dns', value: 'kubernetes.default.svc.cluster.local' },
    { type: 'ip', value: '127.0.0.1' },
    { type: 'ip', value: KUBERNETES_SERVICE_IP },
  ]);
  const admin = await leaf('CN=admin, O=system:masters', adminKeys, x509.ExtendedKeyUsage.clientAuth);

  const keyPem = async (k: webcrypto.CryptoKey) =>
    x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', k), 'PRIVATE KEY');
  const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

  const pki: Pki = {
    caCert: file('ca.crt'),
    servingCert: file('apiserver.crt'),
    servingKey: file('apiserver.key'),
    adminCert: file('admin.crt'),
    adminKey: file('admin.key'),
    saPublicKey: file('sa.pub'),
    saPrivateKey: file('sa.key'),
  };
  const write = (f: string, data: string) =>
    fs.writeFileSync(f, data.endsWith('\n') ? data : `${data}\n`, { mode: 0o600 });
  write(pki.caCert, ca.toString('pem'));
  write(pki.servingCert, serving.toString('pem'));
  write(pki.servingKey, await keyPem(servingKeys.privateKey));
  write(pki.adminCert, admin.toString('pem'));
  write(pki.adminKey, await keyPem(adminKeys.privateKey));
  write(pki.saPublicKey, sa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  write(pki.saPrivateKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  return pki;
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

function kubeconfigYaml(server: string, pki: Pki): string {
  const b64 = (f: string) => fs.readFileSync(f).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: scopegate-test',
    '    cluster:',
    `      server: ${server}`,
    `      certificate-authority-data: ${b64(pki.caCert)}`,
    'users:',
    '  - name: admin',
    '    user:',
    `      client-certificate-data: ${b64(pki.adminCert)}`,
    `      client-key-data: ${b64(pki.adminKey)}`,
    'contexts:',
    '  - name: scopegate-test',
    '    context:',
    '      cluster: scopegate-test',
    '      user: admin',
    '      namespace: default',
    'current-context: scopegate-test',
    '',
  ].join('\n');
}
