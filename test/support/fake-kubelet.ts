/**
 * Stands in for a kubelet, as the e2e tier of DESIGN.md says: a Pod created through the real API
 * server (so the real injection webhook mutated it) is bound to a Node, its containers run as local
 * processes on one loopback address 127.0.0.x (its pod IP, see pod-runtime.ts), and its status (pod
 * IP, phase, container statuses, Ready) is reported through the pods/status subresource, following
 * the containers' readiness probes, as a kubelet would. Containers that exit are restarted with
 * backoff; a pod deleted through the API is stopped and finalized.
 *
 *   const kubelet = await startFakeKubelet({ kubeconfig });
 *   const pod = await kubelet.runPod({ namespace: 'shop', name: 'sample-api', podIp: '127.0.0.2' });
 *   pod.logs('scopegate-sidecar');
 *   await kubelet.stop(); // every process, every pod marked not ready
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  type V1Container,
  type V1ContainerStatus,
  type V1Pod,
  type V1PodCondition,
  type V1PodStatus,
} from '@kubernetes/client-node';
import { httpRequest } from './http-client.js';
import {
  fieldValue,
  hostProcess,
  probeTarget,
  type PodRuntimeContext,
  type ProbeTarget,
} from './pod-runtime.js';
import { signalGroup } from './process-group.js';

export const REPO_ROOT = path
  .resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
  .replace(/\/dist$/, '');

export interface FakeKubeletOptions {
  kubeconfig: string;
  /** Default `fake-kubelet`. */
  nodeName?: string;
  /** Image name (last path segment, no tag) → host argv; default: `scopegate` runs `node dist/operator/src/cli.js`. */
  images?: Record<string, string[]>;
  /** Where container logs go; default a temp dir removed by stop() (kept when given). */
  logDir?: string;
  /** Probe and status period; default 500 ms. */
  syncIntervalMs?: number;
  log?: (message: string) => void;
}

export interface RunPodOptions {
  namespace: string;
  name: string;
  /** The pod's loopback address, e.g. 127.0.0.2 (never 127.0.0.1: that is the node's). */
  podIp: string;
  /** Resolve only once the pod is Ready; default 60 s. 0 returns as soon as the processes run. */
  readyTimeoutMs?: number;
}

export interface RunningPod {
  readonly namespace: string;
  readonly name: string;
  readonly podIp: string;
  /** A container's combined stdout and stderr so far. */
  logs(container: string): string;
  logFile(container: string): string;
  waitReady(timeoutMs?: number): Promise<void>;
  /** Kills the containers and reports the pod not ready (or deletes it). Idempotent. */
  stop(opts?: { delete?: boolean }): Promise<void>;
}

export interface FakeKubelet {
  readonly nodeName: string;
  readonly logDir: string;
  runPod(opts: RunPodOptions): Promise<RunningPod>;
  stop(): Promise<void>;
}

const isStatus = (e: unknown, code: number) => e instanceof ApiException && e.code === code;

export async function startFakeKubelet(opts: FakeKubeletOptions): Promise<FakeKubelet> {
  const kc = new KubeConfig();
  kc.loadFromFile(opts.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const nodeName = opts.nodeName ?? 'fake-kubelet';
  const logDir = opts.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'scopegate-kubelet-'));
  fs.mkdirSync(logDir, { recursive: true });
  const log = opts.log ?? (() => {});
  await registerNode(core, nodeName);

  const pods: RunningPod[] = [];
  return {
    nodeName,
    logDir,
    async runPod(o) {
      const pod = new PodWorker(core, o, {
        nodeName,
        logDir,
        images: opts.images ?? {
          scopegate: [process.execPath, path.join(REPO_ROOT, 'dist/operator/src/cli.js')],
        },
        syncIntervalMs: opts.syncIntervalMs ?? 500,
        log,
      });
      pods.push(pod);
      await pod.start();
      if ((o.readyTimeoutMs ?? 60_000) > 0) await pod.waitReady(o.readyTimeoutMs ?? 60_000);
      return pod;
    },
    async stop() {
      await Promise.all(pods.map((p) => p.stop()));
      if (opts.logDir === undefined) fs.rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** Creates (or refreshes) the Node object, Ready, as a kubelet registers itself. */
async function registerNode(core: CoreV1Api, name: string): Promise<void> {
  try {
    await core.createNode({
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name, labels: { 'kubernetes.io/hostname': name } },
      },
    });
  } catch (e) {
    if (!isStatus(e, 409)) throw e;
  }
  const node = await core.readNode({ name });
  const now = new Date();
  node.status = {
    ...node.status,
    addresses: [
      { type: 'InternalIP', address: '127.0.0.1' },
      { type: 'Hostname', address: name },
    ],
    capacity: { cpu: '2', memory: '4Gi', pods: '110' },
    allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
    conditions: [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'fake kubelet is posting ready status',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ],
  };
  await core.replaceNodeStatus({ name, body: node });
}

interface WorkerSettings {
  nodeName: string;
  logDir: string;
  images: Record<string, string[]>;
  syncIntervalMs: number;
  log: (message: string) => void;
}

type ContainerKind = 'init' | 'sidecar' | 'app';

/** One container of the pod: its process, restarts and probe results. */
class ContainerProcess {
  proc: ChildProcess | undefined;
  startedAt: Date | undefined;
  restartCount = 0;
  ready = false;
  started = false;
  exited: { exitCode: number; reason: string; startedAt: Date; finishedAt: Date } | undefined;
  lastTermination: ContainerProcess['exited'];
  stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly spec: V1Container,
    readonly kind: ContainerKind,
    readonly logFile: string,
    private readonly runtime: () => PodRuntimeContext,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    const p = hostProcess(this.spec, this.runtime());
    const out = fs.openSync(this.logFile, 'a');
    const child = spawn(p.file, p.args, {
      cwd: p.cwd,
      env: p.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    fs.closeSync(out);
    this.proc = child;
    this.startedAt = new Date();
    this.exited = undefined;
    this.started = false;
    this.ready = false;
    child.on('error', (error) => fs.appendFileSync(this.logFile, `fake kubelet: ${error.message}\n`));
    child.on('exit', (code, signal) => {
      this.exited = {
        exitCode: code ?? 128 + (signal ? (os.constants.signals[signal] ?? 9) : 0),
        reason: code === 0 ? 'Completed' : 'Error',
        startedAt: this.startedAt!,
        finishedAt: new Date(),
      };
      this.ready = false;
      this.proc = undefined;
      if (this.stopping || this.kind === 'init') return;
      // restartPolicy Always: CrashLoopBackOff, 1 s doubling to 10 s.
      this.lastTermination = this.exited;
      const delay = Math.min(10_000, 1000 * 2 ** this.restartCount);
      this.log(`container ${this.spec.name} exited (${this.exited.exitCode}); restarting in ${delay} ms`);
      this.restartTimer = setTimeout(() => {
        if (this.stopping) return;
        this.restartCount += 1;
        this.start();
      }, delay);
    });
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Runs the startup probe until it passes, then the readiness probe. */
  async probe(podIp: string): Promise<void> {
    if (!this.running) {
      this.ready = false;
      return;
    }
    if (!this.started) {
      this.started = await probeOnce(probeTarget(this.spec.startupProbe, this.spec, podIp));
      if (!this.started) return;
    }
    this.ready = await probeOnce(probeTarget(this.spec.readinessProbe, this.spec, podIp));
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const proc = this.proc;
    if (proc?.pid === undefined) return;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    signalGroup(proc.pid, 'SIGTERM');
    if ((await Promise.race([gone.then(() => true), sleep(graceMs).then(() => false)])) === false) {
      signalGroup(proc.pid, 'SIGKILL');
      await gone;
    }
  }

  killNow(): void {
    if (this.proc?.pid !== undefined) signalGroup(this.proc.pid, 'SIGKILL');
  }

  status(): V1ContainerStatus {
    const s: V1ContainerStatus = {
      name: this.spec.name,
      image: this.spec.image ?? '',
      imageID: `fake-kubelet://${this.spec.image ?? ''}`,
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      state: this.running
        ? { running: { startedAt: this.startedAt! } }
        : this.exited && (this.stopping || this.kind === 'init')
          ? { terminated: { ...this.exited, containerID: `fake://${this.spec.name}` } }
          : { waiting: { reason: this.exited ? 'CrashLoopBackOff' : 'ContainerCreating' } },
    };
    if (this.proc?.pid !== undefined) s.containerID = `fake://${this.proc.pid}`;
    if (this.lastTermination) s.lastState = { terminated: { ...this.lastTermination } };
    return s;
  }
}

async function probeOnce(target: ProbeTarget): Promise<boolean> {
  try {
    if (target.kind === 'none') return true;
    if (target.kind === 'http') {
      const res = await httpRequest(target.url, { timeoutMs: 1000 });
      return res.status >= 200 && res.status < 400;
    }
    return await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: target.host, port: target.port, timeout: 1000 });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
    });
  } catch {
    return false;
  }
}

class PodWorker implements RunningPod {
  readonly namespace: string;
  readonly name: string;
  readonly podIp: string;
  private pod: V1Pod | undefined;
  private containers: ContainerProcess[] = [];
  private runtime: PodRuntimeContext | undefined;
  private readonly volumeRoot: string;
  private startTime = new Date();
  private stopped = false;
  private deleted = false;
  private loop: Promise<void> | undefined;
  private lastWritten = '';
  private readonly transitions = new Map<string, { status: string; at: Date }>();
  private readonly onExit = () => this.containers.forEach((c) => c.killNow());

  constructor(
    private readonly core: CoreV1Api,
    o: RunPodOptions,
    private readonly settings: WorkerSettings,
  ) {
    this.namespace = o.namespace;
    this.name = o.name;
    this.podIp = o.podIp;
    if (o.podIp === '127.0.0.1' || !/^127\.\d+\.\d+\.\d+$/.test(o.podIp)) {
      throw new Error(`fake kubelet: pod IP must be a loopback address other than 127.0.0.1, not ${o.podIp}`);
    }
    this.volumeRoot = path.join(settings.logDir, `${o.namespace}_${o.name}_volumes`);
  }

  logFile(container: string): string {
    return path.join(this.settings.logDir, `${this.namespace}_${this.name}_${container}.log`);
  }

  logs(container: string): string {
    try {
      return fs.readFileSync(this.logFile(container), 'utf8');
    } catch {
      return '';
    }
  }

  async start(): Promise<void> {
    const { core, namespace, name } = this;
    let pod = await core.readNamespacedPod({ name, namespace });
    if (!pod.spec?.nodeName) {
      await core.createNamespacedPodBinding({
        name,
        namespace,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace },
          target: { apiVersion: 'v1', kind: 'Node', name: this.settings.nodeName },
        },
      });
      pod = await core.readNamespacedPod({ name, namespace });
    }
    this.pod = pod;
    this.runtime = await this.prepareRuntime(pod);
    process.on('exit', this.onExit);
    const spec = pod.spec!;
    const make = (c: V1Container, kind: ContainerKind) =>
      new ContainerProcess(c, kind, this.logFile(c.name), () => this.runtime!, this.settings.log);
    // Init containers in order: a native sidecar (restartPolicy Always) must start, the others finish.
    for (const c of spec.initContainers ?? []) {
      const container = make(c, c.restartPolicy === 'Always' ? 'sidecar' : 'init');
      this.containers.push(container);
      container.start();
      await this.writeStatus();
      await this.untilInitDone(container);
    }
    for (const c of spec.containers) {
      const container = make(c, 'app');
      this.containers.push(container);
      container.start();
    }
    this.settings.log(`pod ${namespace}/${name} running on ${this.podIp}`);
    await this.writeStatus();
    this.loop = this.syncLoop();
  }

  private async untilInitDone(c: ContainerProcess): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (c.kind === 'sidecar') {
        await c.probe(this.podIp);
        if (c.started) return;
      } else if (c.exited) {
        if (c.exited.exitCode === 0) return;
        throw new Error(
          `init container ${c.spec.name} failed (${c.exited.exitCode}):\n${this.logs(c.spec.name)}`,
        );
      }
      await sleep(100);
    }
    throw new Error(
      `init container ${c.spec.name} did not ${c.kind === 'sidecar' ? 'start' : 'finish'} in 60 s`,
    );
  }

  /** Host directories for the pod's volumes, and the Secrets and ConfigMaps its containers read. */
  private async prepareRuntime(pod: V1Pod): Promise<PodRuntimeContext> {
    const secrets: Record<string, Record<string, string>> = {};
    const configMaps: Record<string, Record<string, string>> = {};
    const secret = async (n: string) =>
      (secrets[n] ??= Object.fromEntries(
        Object.entries(
          (await this.core.readNamespacedSecret({ name: n, namespace: this.namespace })).data ?? {},
        ).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      ));
    const configMap = async (n: string) =>
      (configMaps[n] ??=
        (await this.core.readNamespacedConfigMap({ name: n, namespace: this.namespace })).data ?? {});
    const spec = pod.spec!;
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef?.name) await secret(e.valueFrom.secretKeyRef.name);
        if (e.valueFrom?.configMapKeyRef?.name) await configMap(e.valueFrom.configMapKeyRef.name);
      }
      for (const e of c.envFrom ?? []) {
        if (e.secretRef?.name) await secret(e.secretRef.name);
        if (e.configMapRef?.name) await configMap(e.configMapRef.name);
      }
    }
    fs.rmSync(this.volumeRoot, { recursive: true, force: true });
    const volumes: Record<string, string> = {};
    const podFields = { pod, podIp: this.podIp, nodeName: this.settings.nodeName, hostIp: '127.0.0.1' };
    for (const v of spec.volumes ?? []) {
      const dir = path.join(this.volumeRoot, v.name);
      fs.mkdirSync(dir, { recursive: true });
      volumes[v.name] = dir;
      const downward = v.downwardAPI?.items?.filter((i) => i.fieldRef !== undefined);
      const files = v.secret?.secretName
        ? await secret(v.secret.secretName)
        : v.configMap?.name
          ? await configMap(v.configMap.name)
          : v.emptyDir
            ? {}
            : downward
              ? Object.fromEntries(
                  downward.map((i) => [i.path, fieldValue(i.fieldRef!.fieldPath, podFields)]),
                )
              : undefined;
      if (files === undefined) throw new Error(`fake kubelet: volume ${v.name} is of an unsupported type`);
      const items = v.secret?.items ?? v.configMap?.items;
      for (const [key, value] of Object.entries(files)) {
        const target = items ? items.find((i) => i.key === key)?.path : key;
        if (target === undefined) continue;
        fs.mkdirSync(path.dirname(path.join(dir, target)), { recursive: true });
        fs.writeFileSync(path.join(dir, target), value);
      }
    }
    return {
      pod,
      podIp: this.podIp,
      nodeName: this.settings.nodeName,
      hostIp: '127.0.0.1',
      cwd: REPO_ROOT,
      images: this.settings.images,
      commands: {
        node: [process.execPath],
        scopegate: [process.execPath, path.join(REPO_ROOT, 'dist/operator/src/cli.js')],
      },
      volumes,
      secrets,
      configMaps,
      baseEnv: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        ...(process.env.NODE_OPTIONS ? { NODE_OPTIONS: process.env.NODE_OPTIONS } : {}),
      },
    };
  }

  private async syncLoop(): Promise<void> {
    while (!this.stopped) {
      await sleep(this.settings.syncIntervalMs);
      if (this.stopped) return;
      await Promise.all(this.containers.map((c) => c.probe(this.podIp)));
      try {
        await this.writeStatus();
      } catch (e) {
        this.settings.log(
          `pod ${this.namespace}/${this.name}: status update failed: ${(e as Error).message}`,
        );
      }
    }
  }

  private condition(type: string, ok: boolean, reason?: string): V1PodCondition {
    const status = ok ? 'True' : 'False';
    const prev = this.transitions.get(type);
    if (prev?.status !== status) this.transitions.set(type, { status, at: new Date() });
    return {
      type,
      status,
      lastTransitionTime: this.transitions.get(type)!.at,
      ...(ok || reason === undefined ? {} : { reason }),
    };
  }

  private buildStatus(base: V1PodStatus | undefined): V1PodStatus {
    const inits = this.containers.filter((c) => c.kind !== 'app');
    const apps = this.containers.filter((c) => c.kind === 'app');
    const initialized = inits.every((c) => (c.kind === 'init' ? c.exited?.exitCode === 0 : c.started));
    const expected = this.pod!.spec!.containers.length;
    const appsReady = apps.length === expected && apps.every((c) => c.ready);
    const sidecarsReady = inits.filter((c) => c.kind === 'sidecar').every((c) => c.ready);
    const ready = !this.stopped && initialized && appsReady && sidecarsReady;
    const allRunning = apps.length === expected && apps.every((c) => c.running);
    const status: V1PodStatus = {
      ...base,
      phase: this.stopped ? 'Failed' : allRunning ? 'Running' : 'Pending',
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: this.podIp,
      podIPs: [{ ip: this.podIp }],
      startTime: this.startTime,
      qosClass: base?.qosClass ?? 'BestEffort',
      conditions: [
        this.condition('PodReadyToStartContainers', !this.stopped),
        this.condition('Initialized', initialized, 'ContainersNotInitialized'),
        this.condition('Ready', ready, this.stopped ? 'PodCompleted' : 'ContainersNotReady'),
        this.condition('ContainersReady', ready, this.stopped ? 'PodCompleted' : 'ContainersNotReady'),
        this.condition('PodScheduled', true),
      ],
      containerStatuses: this.pod!.spec!.containers.map(
        (spec) =>
          apps.find((c) => c.spec.name === spec.name)?.status() ?? {
            name: spec.name,
            image: spec.image ?? '',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'PodInitializing' } },
          },
      ),
    };
    if (this.stopped) {
      status.reason = 'Terminated';
      status.message = 'Pod was terminated: the fake kubelet stopped';
    }
    if ((this.pod!.spec!.initContainers ?? []).length > 0) {
      status.initContainerStatuses = this.pod!.spec!.initContainers!.map(
        (spec) =>
          inits.find((c) => c.spec.name === spec.name)?.status() ?? {
            name: spec.name,
            image: spec.image ?? '',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'PodInitializing' } },
          },
      );
    }
    return status;
  }

  /** Reads the pod (finalizing it if it is being deleted) and writes its status when it changed. */
  private async writeStatus(): Promise<void> {
    if (this.deleted) return;
    let pod: V1Pod;
    try {
      pod = await this.core.readNamespacedPod({ name: this.name, namespace: this.namespace });
    } catch (e) {
      if (!isStatus(e, 404)) throw e;
      this.deleted = true;
      this.settings.log(`pod ${this.namespace}/${this.name} is gone; stopping its containers`);
      void this.stop();
      return;
    }
    if (pod.metadata?.deletionTimestamp && !this.stopped) {
      this.settings.log(`pod ${this.namespace}/${this.name} is being deleted; stopping its containers`);
      void this.stop({ delete: true });
      return;
    }
    const status = this.buildStatus(pod.status);
    const fingerprint = JSON.stringify(status);
    if (fingerprint === this.lastWritten) return;
    pod.status = status;
    try {
      await this.core.replaceNamespacedPodStatus({ name: this.name, namespace: this.namespace, body: pod });
      this.lastWritten = fingerprint;
    } catch (e) {
      if (!isStatus(e, 409)) throw e; // a newer version: the next sync retries
    }
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const pod = await this.core.readNamespacedPod({ name: this.name, namespace: this.namespace });
      if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return;
      await sleep(200);
    }
    const tails = this.containers
      .map(
        (c) =>
          `--- ${c.spec.name} (ready=${c.ready}, running=${c.running}):\n${this.logs(c.spec.name).slice(-3000)}`,
      )
      .join('\n');
    throw new Error(`pod ${this.namespace}/${this.name} did not become Ready in ${timeoutMs} ms\n${tails}`);
  }

  async stop(o: { delete?: boolean } = {}): Promise<void> {
    if (this.stopped) {
      await this.loop;
      return;
    }
    this.stopped = true;
    const graceMs = Math.min(5, this.pod?.spec?.terminationGracePeriodSeconds ?? 5) * 1000;
    // App containers first, then sidecars in reverse order, as the kubelet does.
    const apps = this.containers.filter((c) => c.kind === 'app');
    await Promise.all(apps.map((c) => c.stop(graceMs)));
    for (const c of this.containers.filter((x) => x.kind !== 'app').reverse()) await c.stop(graceMs);
    process.off('exit', this.onExit);
    await this.loop?.catch(() => undefined);
    if (!this.deleted) {
      try {
        if (o.delete) {
          await this.core.deleteNamespacedPod({
            name: this.name,
            namespace: this.namespace,
            gracePeriodSeconds: 0,
          });
          this.deleted = true;
        } else {
          this.lastWritten = '';
          await this.writeStatus();
        }
      } catch (e) {
        // The API server may already be gone at teardown: nothing left to report to.
        this.settings.log(
          `pod ${this.namespace}/${this.name}: final status not written: ${(e as Error).message}`,
        );
      }
    }
    this.settings.log(`pod ${this.namespace}/${this.name} stopped`);
  }
}
