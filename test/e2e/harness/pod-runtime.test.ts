import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  containerEnv,
  hostProcess,
  imageName,
  probeTarget,
  toHostPaths,
  toPodAddress,
  type PodRuntimeContext,
} from '../../support/pod-runtime.js';

const pod: V1Pod = {
  metadata: { name: 'api-1', namespace: 'shop', uid: 'u-1', labels: { app: 'api' } },
  spec: { containers: [] },
};
const ctx: PodRuntimeContext = {
  pod,
  podIp: '127.0.0.7',
  nodeName: 'node-a',
  hostIp: '127.0.0.1',
  cwd: '/repo',
  images: { scopegate: ['/usr/bin/node', '/repo/dist/operator/src/cli.js'] },
  commands: { node: ['/usr/bin/node'] },
  volumes: { 'scopegate-config': '/tmp/vol/scopegate-config' },
  secrets: { creds: { token: 's3cret' } },
  configMaps: { settings: { MODE: 'fast' } },
  baseEnv: { PATH: '/usr/bin' },
};

describe('pod runtime mapping', () => {
  it('names images without registry, tag or digest', () => {
    expect(imageName('ghcr.io/scopegate/scopegate:0.1.0')).toBe('scopegate');
    expect(imageName('scopegate@sha256:abc')).toBe('scopegate');
    expect(imageName('localhost:5000/x/sample-api:dev')).toBe('sample-api');
  });

  it('maps the pod loopback and wildcard addresses to the pod IP, and nothing else', () => {
    expect(toPodAddress('0.0.0.0:15900', '127.0.0.7')).toBe('127.0.0.7:15900');
    expect(toPodAddress('http://127.0.0.1:8080', '127.0.0.7')).toBe('http://127.0.0.7:8080');
    expect(toPodAddress('http://localhost:8080/x', '127.0.0.7')).toBe('http://127.0.0.7:8080/x');
    expect(toPodAddress('http://127.0.0.10:8080', '127.0.0.7')).toBe('http://127.0.0.10:8080');
    expect(toPodAddress('10.127.0.0.1', '127.0.0.7')).toBe('10.127.0.0.1');
  });

  it('maps mount paths to host directories', () => {
    const mounts = [{ mountPath: '/var/run/scopegate', hostPath: '/tmp/v' }];
    expect(toHostPaths('/var/run/scopegate', mounts)).toBe('/tmp/v');
    expect(toHostPaths('--dir=/var/run/scopegate/bundle.jws', mounts)).toBe('--dir=/tmp/v/bundle.jws');
    expect(toHostPaths('/var/run/scopegate-other', mounts)).toBe('/var/run/scopegate-other');
  });

  it('resolves env like Kubernetes: values, $(VAR), fieldRefs, secret and configmap refs, envFrom', () => {
    const c: V1Container = {
      name: 'app',
      envFrom: [{ configMapRef: { name: 'settings' }, prefix: 'CFG_' }],
      env: [
        { name: 'A', value: 'a' },
        { name: 'B', value: '$(A)-b-$$(A)' },
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
      ],
    };
    expect(containerEnv(c, ctx)).toEqual({
      CFG_MODE: 'fast',
      A: 'a',
      B: 'a-b-$(A)',
      POD: 'api-1',
      NS: 'shop',
      IP: '127.0.0.7',
      APP: 'api',
      TOKEN: 's3cret',
    });
  });

  it('runs the injected sidecar image as the local scopegate CLI with mapped args', () => {
    const sidecar: V1Container = {
      name: 'scopegate-sidecar',
      image: 'ghcr.io/scopegate/scopegate:0.1.0',
      args: [
        'sidecar',
        '--config-dir',
        '/var/run/scopegate',
        '--upstream',
        'http://127.0.0.1:8080',
        '--listen',
        '0.0.0.0:15900',
      ],
      env: [{ name: 'SCOPEGATE_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
      volumeMounts: [{ name: 'scopegate-config', mountPath: '/var/run/scopegate' }],
    };
    const p = hostProcess(sidecar, ctx);
    expect(p.file).toBe('/usr/bin/node');
    expect(p.args).toEqual([
      '/repo/dist/operator/src/cli.js',
      'sidecar',
      '--config-dir',
      '/tmp/vol/scopegate-config',
      '--upstream',
      'http://127.0.0.7:8080',
      '--listen',
      '127.0.0.7:15900',
    ]);
    expect(p.env).toMatchObject({ PATH: '/usr/bin', HOSTNAME: 'api-1', SCOPEGATE_POD_NAME: 'api-1' });
    expect(p.cwd).toBe('/repo');
  });

  it('runs `command` with mapped executables and refuses unknown images without one', () => {
    const app: V1Container = {
      name: 'app',
      image: 'sample-api:dev',
      command: ['node', 'dist/x.js'],
      args: ['--listen', '127.0.0.1:8080'],
    };
    expect(hostProcess(app, ctx)).toMatchObject({
      file: '/usr/bin/node',
      args: ['dist/x.js', '--listen', '127.0.0.7:8080'],
    });
    expect(() => hostProcess({ name: 'x', image: 'nginx:1' }, ctx)).toThrow(/not mapped/);
  });

  it('aims probes at the pod IP, resolving named ports', () => {
    const c: V1Container = { name: 's', ports: [{ name: 'scopegate-admin', containerPort: 15901 }] };
    expect(probeTarget({ httpGet: { path: '/readyz', port: 'scopegate-admin' } }, c, '127.0.0.7')).toEqual({
      kind: 'http',
      url: 'http://127.0.0.7:15901/readyz',
    });
    expect(probeTarget({ tcpSocket: { port: 8080 } }, c, '127.0.0.7')).toEqual({
      kind: 'tcp',
      host: '127.0.0.7',
      port: 8080,
    });
    expect(probeTarget(undefined, c, '127.0.0.7')).toEqual({ kind: 'none' });
  });
});
