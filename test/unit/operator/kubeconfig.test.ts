import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kubeconfigAuth, resolveKubeconfigSource } from '../../../operator/src/kube/kubeconfig.js';

const yaml = (user: string) => `
apiVersion: v1
kind: Config
current-context: dev
contexts:
  - name: dev
    context: { cluster: c1, user: u1 }
clusters:
  - name: c1
    cluster:
      server: https://127.0.0.1:6443
      certificate-authority-data: ${Buffer.from('CA').toString('base64')}
users:
  - name: u1
    user: ${user}
`;

describe('kubeconfigAuth', () => {
  it('reads certificates inline and from files relative to the kubeconfig', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kc-'));
    fs.writeFileSync(path.join(dir, 'client.key'), 'KEY');
    const r = kubeconfigAuth(
      path.join(dir, 'config'),
      yaml(`{ client-certificate-data: ${Buffer.from('CERT').toString('base64')}, client-key: client.key }`),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.auth.server).toBe('https://127.0.0.1:6443');
    expect(String(r.auth.tls.ca)).toBe('CA');
    expect(String(r.auth.tls.cert)).toBe('CERT');
    expect(String(r.auth.tls.key)).toBe('KEY');
    expect(await r.auth.headers()).toEqual({});
  });

  it('reads a token file on every request (rotation)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kc-'));
    fs.writeFileSync(path.join(dir, 'token'), 't1\n');
    const r = kubeconfigAuth(path.join(dir, 'config'), yaml('{ tokenFile: token }'));
    if (!r.ok) throw new Error(r.unsupported);
    expect(await r.auth.headers()).toEqual({ authorization: 'Bearer t1' });
    fs.writeFileSync(path.join(dir, 'token'), 't2');
    expect(await r.auth.headers()).toEqual({ authorization: 'Bearer t2' });
  });

  it('reports exec plugins as unsupported, for the client-node fallback', () => {
    expect(kubeconfigAuth('/x/config', yaml('{ exec: { command: aws } }'))).toEqual({
      ok: false,
      unsupported: 'user exec',
    });
  });
});

describe('resolveKubeconfigSource', () => {
  it.each([
    [
      { kubeconfig: '/k', env: { KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '443' } },
      { kind: 'file', path: '/k' },
    ],
    [
      { env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' } },
      { kind: 'in-cluster', host: '10.0.0.1', port: '443' },
    ],
    [{ env: { HOME: '/home/me' } }, { kind: 'file', path: '/home/me/.kube/config' }],
  ])('%j', (input, expected) => expect(resolveKubeconfigSource(input)).toEqual(expected));
});
