/**
 * How the fake kubelet turns a container of a Pod into a process on this machine (pure functions, no
 * I/O). A pod's network namespace becomes one loopback address 127.0.0.x: what the container binds on
 * `0.0.0.0`, `127.0.0.1` or `localhost` it binds on the pod IP instead, so two pods never collide and
 * the containers of one pod reach each other the way they would on the pod's own loopback. Volume
 * mount paths become host directories, images become host commands.
 */
import type { V1Container, V1EnvVar, V1Pod, V1Probe } from '@kubernetes/client-node';

export interface HostProcessSpec {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface PodRuntimeContext {
  pod: V1Pod;
  podIp: string;
  nodeName: string;
  hostIp: string;
  /** Working directory of every process: the repository root (commands use repo-relative paths). */
  cwd: string;
  /** Image repository name (last path segment, no tag), e.g. `scopegate`, → the host entrypoint argv. */
  images: Record<string, string[]>;
  /** Command names → host argv prefix, e.g. `node` → [process.execPath]. */
  commands: Record<string, string[]>;
  /** Volume name → host directory. */
  volumes: Record<string, string>;
  secrets: Record<string, Record<string, string>>;
  configMaps: Record<string, Record<string, string>>;
  /** Environment every process starts with (PATH, HOME, ...). */
  baseEnv: Record<string, string>;
}

/** `ghcr.io/scopegate/scopegate:0.1.0@sha256:..` → `scopegate` */
export function imageName(image: string | undefined): string {
  const withoutDigest = (image ?? '').split('@')[0]!;
  const last = withoutDigest.split('/').pop() ?? '';
  return last.split(':')[0]!;
}

/** Rewrites the pod's loopback and wildcard addresses to its pod IP (not 127.0.0.10 and the like). */
export function toPodAddress(value: string, podIp: string): string {
  return value.replace(/(?<![0-9.])(?:0\.0\.0\.0|127\.0\.0\.1)(?![0-9])|\blocalhost\b/g, podIp);
}

/** Rewrites every mount path at the start of a path in `value` to its host directory. */
export function toHostPaths(value: string, mounts: { mountPath: string; hostPath: string }[]): string {
  let out = value;
  for (const m of [...mounts].sort((a, b) => b.mountPath.length - a.mountPath.length)) {
    const escaped = m.mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out.replace(new RegExp(`(?<![\\w/.-])${escaped}(?=/|$|[^\\w.-])`, 'g'), m.hostPath);
  }
  return out;
}

export function containerMounts(container: V1Container, ctx: PodRuntimeContext) {
  return (container.volumeMounts ?? []).map((m) => {
    const dir = ctx.volumes[m.name];
    if (dir === undefined) throw new Error(`container ${container.name} mounts unknown volume ${m.name}`);
    return { mountPath: m.mountPath, hostPath: m.subPath ? `${dir}/${m.subPath}` : dir };
  });
}

/** The value of a downward API field of the pod (env `fieldRef`, `downwardAPI` volume items). */
export function fieldValue(
  fieldPath: string,
  ctx: Pick<PodRuntimeContext, 'pod' | 'podIp' | 'nodeName' | 'hostIp'>,
): string {
  const meta = ctx.pod.metadata ?? {};
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? meta.labels : meta.annotations)?.[m[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return ctx.nodeName;
    case 'spec.serviceAccountName':
      return ctx.pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIp;
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIp;
    default:
      throw new Error(`fake kubelet: unsupported fieldRef ${fieldPath}`);
  }
}

function envValue(v: V1EnvVar, env: Record<string, string>, ctx: PodRuntimeContext): string | undefined {
  if (v.value !== undefined) {
    // $(VAR) refers to a variable defined earlier in the list; $$ escapes.
    return v.value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string | undefined) =>
      name === undefined ? '$' : (env[name] ?? all),
    );
  }
  const from = v.valueFrom;
  if (from?.fieldRef) return fieldValue(from.fieldRef.fieldPath, ctx);
  if (from?.secretKeyRef) {
    const value = ctx.secrets[from.secretKeyRef.name ?? '']?.[from.secretKeyRef.key];
    if (value === undefined && !from.secretKeyRef.optional) {
      throw new Error(`env ${v.name}: secret ${from.secretKeyRef.name} has no key ${from.secretKeyRef.key}`);
    }
    return value;
  }
  if (from?.configMapKeyRef) {
    const value = ctx.configMaps[from.configMapKeyRef.name ?? '']?.[from.configMapKeyRef.key];
    if (value === undefined && !from.configMapKeyRef.optional) {
      throw new Error(
        `env ${v.name}: configmap ${from.configMapKeyRef.name} has no key ${from.configMapKeyRef.key}`,
      );
    }
    return value;
  }
  return ''; // resourceFieldRef and the like: no resources here
}

/** The container's environment as Kubernetes resolves it (envFrom first, then env in order). */
export function containerEnv(container: V1Container, ctx: PodRuntimeContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const data = source.secretRef
      ? ctx.secrets[source.secretRef.name ?? '']
      : source.configMapRef
        ? ctx.configMaps[source.configMapRef.name ?? '']
        : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[`${source.prefix ?? ''}${k}`] = v;
  }
  for (const v of container.env ?? []) {
    const value = envValue(v, env, ctx);
    if (value !== undefined) env[v.name] = value;
  }
  return env;
}

/** The process to run for a container: image entrypoint or `command`, then `args`, addresses and paths mapped. */
export function hostProcess(container: V1Container, ctx: PodRuntimeContext): HostProcessSpec {
  let argv: string[];
  if (container.command && container.command.length > 0) {
    const [first, ...rest] = container.command;
    argv = [...(ctx.commands[first!] ?? [first!]), ...rest, ...(container.args ?? [])];
  } else {
    const entrypoint = ctx.images[imageName(container.image)];
    if (entrypoint === undefined) {
      throw new Error(
        `fake kubelet: container ${container.name} has no command and image ${container.image} is not mapped to a host command`,
      );
    }
    argv = [...entrypoint, ...(container.args ?? [])];
  }
  const mounts = containerMounts(container, ctx);
  const map = (s: string) => toHostPaths(toPodAddress(s, ctx.podIp), mounts);
  const env: Record<string, string> = { ...ctx.baseEnv, HOSTNAME: ctx.pod.metadata?.name ?? '' };
  for (const [k, v] of Object.entries(containerEnv(container, ctx))) env[k] = map(v);
  const [file, ...args] = argv.map(map);
  return { file: file!, args, env, cwd: ctx.cwd };
}

export type ProbeTarget =
  { kind: 'http'; url: string } | { kind: 'tcp'; host: string; port: number } | { kind: 'none' };

/** Where a probe of this container goes, on the pod IP (exec probes are not run: treated as passing). */
export function probeTarget(probe: V1Probe | undefined, container: V1Container, podIp: string): ProbeTarget {
  const port = (p: number | string) => {
    if (typeof p === 'number' || /^\d+$/.test(p)) return Number(p);
    const named = container.ports?.find((cp) => cp.name === p)?.containerPort;
    if (named === undefined) throw new Error(`probe of ${container.name} uses unknown port name ${p}`);
    return named;
  };
  if (probe?.httpGet) {
    const g = probe.httpGet;
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    return {
      kind: 'http',
      url: `${scheme}://${toPodAddress(g.host ?? podIp, podIp)}:${port(g.port)}${g.path ?? '/'}`,
    };
  }
  if (probe?.tcpSocket) return { kind: 'tcp', host: podIp, port: port(probe.tcpSocket.port) };
  return { kind: 'none' };
}
