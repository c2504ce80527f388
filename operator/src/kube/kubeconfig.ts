/**
 * Credentials for the API server without loading @kubernetes/client-node: its generated API models
 * cost ~70 MB of RSS, half of the operator's memory budget, for a client we do not use. Covers the
 * in-cluster service account and kubeconfig files with certificates or (file) tokens; anything else
 * (exec plugins, auth providers, basic auth) is reported as unsupported so the caller can fall back
 * to client-node's KubeConfig, loaded only then.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';

export interface KubeAuth {
  server: string;
  tls: {
    ca?: string | Buffer;
    cert?: string | Buffer;
    key?: string | Buffer;
    rejectUnauthorized?: boolean;
    servername?: string;
  };
  /** Per request: service account tokens rotate on disk. */
  headers(): Promise<Record<string, string>>;
}

export type KubeAuthResult = { ok: true; auth: KubeAuth } | { ok: false; unsupported: string };

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export function inClusterAuth(host: string, port: string, dir = SERVICE_ACCOUNT_DIR): KubeAuth {
  const tokenFile = path.join(dir, 'token');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    tls: { ca: fs.readFileSync(path.join(dir, 'ca.crt')) },
    headers: async () => ({ authorization: `Bearer ${fs.readFileSync(tokenFile, 'utf8').trim()}` }),
  };
}

interface NamedEntry<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}
type Dict = Record<string, unknown>;

/** Pure apart from reading the files the kubeconfig names. */
export function kubeconfigAuth(file: string, text = fs.readFileSync(file, 'utf8')): KubeAuthResult {
  const doc = (parse(text) ?? {}) as Dict;
  const base = path.dirname(file);
  const find = (list: unknown, name: unknown, field: 'cluster' | 'user' | 'context'): Dict | undefined =>
    (list as NamedEntry<Dict>[] | undefined)?.find((e) => e.name === name)?.[field];
  const context = find(doc['contexts'], doc['current-context'], 'context');
  if (!context) return { ok: false, unsupported: `kubeconfig ${file} has no current context` };
  const cluster = find(doc['clusters'], context['cluster'], 'cluster');
  const user = find(doc['users'], context['user'], 'user') ?? {};
  if (!cluster || typeof cluster['server'] !== 'string')
    return { ok: false, unsupported: `kubeconfig ${file}: no server for the current context` };
  for (const field of ['exec', 'auth-provider', 'username', 'password']) {
    if (user[field] !== undefined) return { ok: false, unsupported: `user ${field}` };
  }
  const data = (inline: unknown, ref: unknown): Buffer | undefined => {
    if (typeof inline === 'string') return Buffer.from(inline, 'base64');
    if (typeof ref === 'string') return fs.readFileSync(path.resolve(base, ref));
    return undefined;
  };
  const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = data(user['client-certificate-data'], user['client-certificate']);
  const key = data(user['client-key-data'], user['client-key']);
  const token = typeof user['token'] === 'string' ? user['token'] : undefined;
  const tokenFile = typeof user['tokenFile'] === 'string' ? path.resolve(base, user['tokenFile']) : undefined;
  return {
    ok: true,
    auth: {
      server: cluster['server'],
      tls: {
        ...(ca ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
        ...(typeof cluster['tls-server-name'] === 'string' ? { servername: cluster['tls-server-name'] } : {}),
      },
      headers: async (): Promise<Record<string, string>> => {
        const bearer = tokenFile ? fs.readFileSync(tokenFile, 'utf8').trim() : token;
        return bearer ? { authorization: `Bearer ${bearer}` } : {};
      },
    },
  };
}

/** Where the credentials come from, in kubectl's order: --kubeconfig, in-cluster, $KUBECONFIG, ~/.kube/config. */
export function resolveKubeconfigSource(options: {
  kubeconfig?: string;
  env: Readonly<Record<string, string | undefined>>;
}): { kind: 'file'; path: string } | { kind: 'in-cluster'; host: string; port: string } {
  if (options.kubeconfig) return { kind: 'file', path: options.kubeconfig };
  const host = options.env['KUBERNETES_SERVICE_HOST'];
  const port = options.env['KUBERNETES_SERVICE_PORT'];
  if (host && port) return { kind: 'in-cluster', host, port };
  const fromEnv = options.env['KUBECONFIG']?.split(path.delimiter).find((p) => p !== '');
  return { kind: 'file', path: fromEnv ?? path.join(options.env['HOME'] ?? os.homedir(), '.kube', 'config') };
}
