/**
 * `scopegate operator` configuration: flags, each with an environment variable fallback, parsed and
 * validated in one pure function so every mistake is reported at start, all at once.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../../crds/src/index.js';
import type { Tenant } from '../../sidecar/src/config/contract.js';
import { parseWebhookOptions, type WebhookOptions } from './webhook/options.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface LeaderElectionOptions {
  enabled: boolean;
  leaseName: string;
  leaseNamespace: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface OperatorOptions {
  tenant: Tenant;
  /** Namespaces to watch; empty = all. */
  namespaces: string[];
  /** Path of a kubeconfig; undefined = in-cluster when available, else the default kubeconfig. */
  kubeconfig?: string;
  /** The environment variables that locate the API server when no kubeconfig is given. */
  kubeEnv: Record<string, string | undefined>;
  httpAddr: HostPort;
  /** The namespace the operator runs in: home of its Secret, ConfigMaps and Lease by default. */
  operatorNamespace: string;
  signingSecret: { name: string; namespace: string };
  publicKeyConfigMap: string;
  revisionConfigMap: string;
  /** ConfigMap keeping every server's last good keys across restarts. */
  keysConfigMap: string;
  leaderElection: LeaderElectionOptions;
  relistIntervalMs: number;
  antiEntropyIntervalMs: number;
  pushConcurrency: number;
  pushTimeoutMs: number;
  jwksTimeoutMs: number;
  /** Minimum time between two refetches of one server's keys asked for by sidecars. */
  keyRefreshMinIntervalMs: number;
  logLevel: string;
  /** Serve the admission webhook (owned by operator/src/webhook) from this process. */
  webhook: { enabled: boolean; addr: HostPort; injection?: WebhookOptions };
}

export type ParseResult =
  | { ok: true; options: OperatorOptions }
  | { ok: false; help: true }
  | { ok: false; help?: false; errors: string[] };

interface FlagSpec {
  env: string;
  help: string;
  default?: string;
  boolean?: true;
}

/** Every flag, its environment variable and its help line. Flags win over environment variables. */
export const OPERATOR_FLAGS: Record<string, FlagSpec> = {
  cloud: {
    env: 'SCOPEGATE_CLOUD',
    help: 'Tenant cloud name, the first part of <cloud>::<orgId>::<role> (required)',
  },
  'org-id': { env: 'SCOPEGATE_ORG_ID', help: 'Tenant organisation ID (required)' },
  'cloud-domain': {
    env: 'SCOPEGATE_CLOUD_DOMAIN',
    help: 'Domain of admin IDs oauth-<role>$@<orgId>.<domain> (default: the cloud name)',
  },
  namespaces: {
    env: 'SCOPEGATE_WATCH_NAMESPACES',
    help: 'Comma-separated namespaces to watch (default: all)',
  },
  kubeconfig: {
    env: 'KUBECONFIG',
    help: 'Kubeconfig file (default: in-cluster service account, else ~/.kube/config)',
  },
  'http-addr': {
    env: 'SCOPEGATE_HTTP_ADDR',
    default: '0.0.0.0:8080',
    help: 'host:port of /healthz, /readyz, /metrics and /v1/keys/refresh',
  },
  namespace: { env: 'POD_NAMESPACE', default: 'scopegate-system', help: "The operator's own namespace" },
  'signing-secret': {
    env: 'SCOPEGATE_SIGNING_SECRET',
    default: 'scopegate-config-signing-key',
    help: 'Secret holding the ES256 bundle signing key (created when missing)',
  },
  'signing-secret-namespace': {
    env: 'SCOPEGATE_SIGNING_SECRET_NAMESPACE',
    help: 'Namespace of that Secret (default: --namespace)',
  },
  'public-key-configmap': {
    env: 'SCOPEGATE_PUBLIC_KEY_CONFIGMAP',
    default: 'scopegate-config-public-key',
    help: 'ConfigMap publishing the public half, for injection',
  },
  'revision-configmap': {
    env: 'SCOPEGATE_REVISION_CONFIGMAP',
    default: 'scopegate-config-revision',
    help: 'ConfigMap recording the highest bundle revision reserved',
  },
  'keys-configmap': {
    env: 'SCOPEGATE_KEYS_CONFIGMAP',
    default: 'scopegate-jwks-cache',
    help: "ConfigMap keeping each server's last good keys across restarts",
  },
  'leader-elect': {
    env: 'SCOPEGATE_LEADER_ELECT',
    default: 'true',
    help: 'Elect one active replica through a Lease (true|false)',
  },
  'lease-name': {
    env: 'SCOPEGATE_LEASE_NAME',
    default: 'scopegate-operator',
    help: 'Name of the leader-election Lease',
  },
  'lease-namespace': {
    env: 'SCOPEGATE_LEASE_NAMESPACE',
    help: 'Namespace of the Lease (default: --namespace)',
  },
  'lease-duration': {
    env: 'SCOPEGATE_LEASE_DURATION',
    default: '10s',
    help: 'How long a standby waits for a silent leader before taking over',
  },
  'renew-deadline': {
    env: 'SCOPEGATE_RENEW_DEADLINE',
    default: '7s',
    help: 'How long the leader keeps leading without renewing the Lease',
  },
  'retry-period': { env: 'SCOPEGATE_RETRY_PERIOD', default: '2s', help: 'Interval between Lease attempts' },
  identity: { env: 'POD_NAME', help: 'Identity in the Lease (default: hostname and process ID)' },
  'relist-interval': {
    env: 'SCOPEGATE_RELIST_INTERVAL',
    default: '5m',
    help: 'Full relist of every watched resource, in case a watch missed an event',
  },
  'anti-entropy-interval': {
    env: 'SCOPEGATE_ANTI_ENTROPY_INTERVAL',
    default: '60s',
    help: 'How often every sidecar is asked which config it runs',
  },
  'push-concurrency': {
    env: 'SCOPEGATE_PUSH_CONCURRENCY',
    default: '64',
    help: 'Sidecars contacted at the same time',
  },
  'push-timeout': {
    env: 'SCOPEGATE_PUSH_TIMEOUT',
    default: '5s',
    help: 'Timeout of one request to a sidecar',
  },
  'jwks-timeout': { env: 'SCOPEGATE_JWKS_TIMEOUT', default: '10s', help: 'Timeout of one JWKS fetch' },
  'key-refresh-min-interval': {
    env: 'SCOPEGATE_KEY_REFRESH_MIN_INTERVAL',
    default: '10s',
    help: 'Minimum time between sidecar-requested refetches of one server',
  },
  'log-level': {
    env: 'SCOPEGATE_LOG_LEVEL',
    default: 'info',
    help: 'trace, debug, info, warn, error or fatal',
  },
  webhook: {
    env: 'SCOPEGATE_WEBHOOK',
    default: 'false',
    help: 'Serve the admission webhook from this process (true|false)',
  },
  'webhook-addr': {
    env: 'SCOPEGATE_WEBHOOK_ADDR',
    default: '0.0.0.0:9443',
    help: 'host:port of the admission webhook (HTTPS)',
  },
};

export function operatorUsage(): string {
  const lines = Object.entries(OPERATOR_FLAGS).map(([name, spec]) => {
    const def = spec.default !== undefined ? ` [${spec.default}]` : '';
    return `  --${name.padEnd(26)} ${spec.help}${def}\n  ${''.padEnd(28)} env ${spec.env}`;
  });
  return `Usage: scopegate operator [options]\n\nOptions (flags win over environment variables):\n${lines.join('\n')}\n  --help`;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];
/** DNS-1123 label: namespace and most object names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a tenant field cannot be used in `<cloud>::<orgId>::<role>` or `oauth-<role>$@<orgId>.<domain>`, if it cannot. */
export function tenantFieldProblem(name: string, value: string): string | undefined {
  if (value === '') return `${name} is empty`;
  if (/\s/.test(value)) return `${name} '${value}' contains whitespace`;
  if (value.includes('::'))
    return `${name} '${value}' contains '::', the separator of <cloud>::<orgId>::<role>`;
  if (/[$@]/.test(value))
    return `${name} '${value}' contains '$' or '@', which delimit the admin ID oauth-<role>$@<orgId>.<domain>`;
  if (value.length > 253) return `${name} is longer than 253 characters`;
  return undefined;
}

export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : (m[2] as string));
  return { host, port };
}

export function parseOperatorOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): ParseResult {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries([
      ...Object.keys(OPERATOR_FLAGS).map((name) => [name, { type: 'string' as const }]),
      ['help', { type: 'boolean' as const, short: 'h' }],
    ]);
    values = parseArgs({ args: [...argv], options, allowPositionals: false, strict: true }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (error) {
    return { ok: false, errors: [(error as Error).message] };
  }
  if (values['help'] === true) return { ok: false, help: true };

  const errors: string[] = [];
  const raw = (name: string): string | undefined => {
    const spec = OPERATOR_FLAGS[name] as FlagSpec;
    const v = values[name];
    if (typeof v === 'string') return v;
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    return spec.default;
  };
  const source = (name: string) =>
    typeof values[name] === 'string'
      ? `--${name}`
      : `--${name} (env ${(OPERATOR_FLAGS[name] as FlagSpec).env})`;
  const duration = (name: string, minMs: number): number => {
    const text = raw(name) as string;
    const ms = parseDuration(text);
    if (ms === undefined)
      errors.push(`${source(name)} '${text}' is not a duration like 500ms, 10s, 5m or 1h`);
    else if (ms < minMs) errors.push(`${source(name)} '${text}' must be at least ${minMs}ms`);
    return ms ?? 0;
  };
  const integer = (name: string, min: number, max: number): number => {
    const text = raw(name) as string;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max)
      errors.push(`${source(name)} '${text}' must be a whole number from ${min} to ${max}`);
    return n;
  };
  const bool = (name: string): boolean => {
    const text = (raw(name) as string).toLowerCase();
    if (text !== 'true' && text !== 'false') errors.push(`${source(name)} '${text}' must be true or false`);
    return text === 'true';
  };
  const hostPort = (name: string): HostPort => {
    const text = raw(name) as string;
    const hp = parseHostPort(text);
    if (!hp) errors.push(`${source(name)} '${text}' must be host:port, e.g. 127.0.0.1:8080 or :8080`);
    return hp ?? { host: '', port: 0 };
  };
  const name = (flag: string, pattern: RegExp, what: string): string => {
    const text = raw(flag) as string;
    if (!pattern.test(text) || text.length > 253)
      errors.push(`${source(flag)} '${text}' is not a valid ${what}`);
    return text;
  };

  const cloud = raw('cloud');
  const orgId = raw('org-id');
  if (cloud === undefined)
    errors.push('the tenant cloud name is required: pass --cloud or set SCOPEGATE_CLOUD');
  if (orgId === undefined)
    errors.push('the tenant organisation ID is required: pass --org-id or set SCOPEGATE_ORG_ID');
  const cloudDomain = raw('cloud-domain') ?? cloud;
  for (const [field, value] of [
    ['cloud name', cloud],
    ['org ID', orgId],
    ['cloud domain', raw('cloud-domain')],
  ] as const) {
    const problem = value === undefined ? undefined : tenantFieldProblem(field, value);
    if (problem) errors.push(problem);
  }

  const namespaces = (raw('namespaces') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const ns of namespaces)
    if (!DNS_LABEL.test(ns)) errors.push(`--namespaces: '${ns}' is not a valid namespace name`);

  const operatorNamespace = name('namespace', DNS_LABEL, 'namespace name');
  const logLevel = raw('log-level') as string;
  if (!LOG_LEVELS.includes(logLevel))
    errors.push(`${source('log-level')} '${logLevel}' must be one of ${LOG_LEVELS.join(', ')}`);

  const leaseDurationMs = duration('lease-duration', 1000);
  const renewDeadlineMs = duration('renew-deadline', 500);
  const retryPeriodMs = duration('retry-period', 100);
  if (renewDeadlineMs >= leaseDurationMs && leaseDurationMs > 0) {
    errors.push('--renew-deadline must be shorter than --lease-duration, or two leaders could overlap');
  }
  if (retryPeriodMs >= renewDeadlineMs && renewDeadlineMs > 0) {
    errors.push(
      '--retry-period must be shorter than --renew-deadline, or the leader could never renew in time',
    );
  }

  const options: OperatorOptions = {
    tenant: { cloudName: cloud ?? '', orgId: orgId ?? '', cloudDomain: cloudDomain ?? '' },
    namespaces,
    ...(raw('kubeconfig') !== undefined ? { kubeconfig: raw('kubeconfig') } : {}),
    kubeEnv: {
      KUBERNETES_SERVICE_HOST: env['KUBERNETES_SERVICE_HOST'],
      KUBERNETES_SERVICE_PORT: env['KUBERNETES_SERVICE_PORT'],
      HOME: env['HOME'],
    },
    httpAddr: hostPort('http-addr'),
    operatorNamespace,
    signingSecret: {
      name: name('signing-secret', DNS_SUBDOMAIN, 'Secret name'),
      namespace:
        raw('signing-secret-namespace') !== undefined
          ? name('signing-secret-namespace', DNS_LABEL, 'namespace name')
          : operatorNamespace,
    },
    publicKeyConfigMap: name('public-key-configmap', DNS_SUBDOMAIN, 'ConfigMap name'),
    revisionConfigMap: name('revision-configmap', DNS_SUBDOMAIN, 'ConfigMap name'),
    keysConfigMap: name('keys-configmap', DNS_SUBDOMAIN, 'ConfigMap name'),
    leaderElection: {
      enabled: bool('leader-elect'),
      leaseName: name('lease-name', DNS_SUBDOMAIN, 'Lease name'),
      leaseNamespace:
        raw('lease-namespace') !== undefined
          ? name('lease-namespace', DNS_LABEL, 'namespace name')
          : operatorNamespace,
      identity: raw('identity') ?? `${env['HOSTNAME'] ?? 'scopegate-operator'}_${process.pid}`,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    },
    relistIntervalMs: duration('relist-interval', 10_000),
    antiEntropyIntervalMs: duration('anti-entropy-interval', 1000),
    pushConcurrency: integer('push-concurrency', 1, 1024),
    pushTimeoutMs: duration('push-timeout', 100),
    jwksTimeoutMs: duration('jwks-timeout', 100),
    keyRefreshMinIntervalMs: duration('key-refresh-min-interval', 0),
    logLevel,
    webhook: { enabled: bool('webhook'), addr: hostPort('webhook-addr') },
  };
  if (options.webhook.enabled) {
    // The injection settings (sidecar image, resources, certificates) come from SCOPEGATE_* variables
    // the chart sets; see WEBHOOK_ENV in webhook/options.ts.
    const injection = parseWebhookOptions(env, { operatorNamespace, addr: options.webhook.addr });
    if (injection.ok) options.webhook.injection = injection.options;
    else errors.push(...injection.errors);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, options };
}
