/**
 * `scopegate sidecar` options, from flags and `SCOPEGATE_*` environment variables (a flag wins).
 * Pure: argv and an env snapshot in, checked options or every mistake out. The command reads
 * process.env once and hands it here.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../../../crds/src/index.js';
import type { Tenant } from '../config/contract.js';

export const SIDECAR_USAGE = `Usage:
  scopegate sidecar --resources FILE --cloud NAME --org-id ID [--cloud-domain DOMAIN]
                    --upstream URL --listen HOST:PORT --admin HOST:PORT
                    [--audit-log FILE|-] [--forward-authorization]          (standalone)
  scopegate sidecar --config-public-key FILE --config-dir DIR
                    --upstream URL --listen HOST:PORT --admin HOST:PORT
                    [--operator-url URL] [--audit-log FILE|-]               (in a pod, fed by the operator)

Verifies OAuth 2.0 access tokens and API roles on every request to --listen and proxies the allowed
ones to --upstream. The admin listener serves /healthz, /readyz, /metrics and /v1/config.

Standalone mode (no Kubernetes):
  --resources FILE            AuthorizationServer and ApiRole YAML, as kubectl apply takes it; reloaded on change
  --cloud NAME                tenant cloud name: scopes read <cloudName>::<orgId>::<roleName>
  --org-id ID                 tenant organization ID
  --cloud-domain DOMAIN       domain of admin IDs oauth-<role>$@<orgId>.<domain> (default: the cloud name)
  --forward-authorization     pass the caller's Authorization header to the application (default: strip it)

In-cluster mode:
  --config-public-key FILE    PEM of the operator's ES256 public key; only bundles it signed are accepted
  --config-dir DIR            where the last accepted bundle is kept (an emptyDir), reloaded at start
  --operator-url URL          where to ask for a key refresh when a token names an unknown kid

Both modes:
  --upstream URL              the protected application, e.g. http://127.0.0.1:8080
  --listen HOST:PORT          public listener, e.g. 0.0.0.0:8443
  --admin HOST:PORT           admin listener, e.g. 0.0.0.0:9901
  --audit-log FILE|-          audit records, one JSON line per request (default: - for stdout)
  --upstream-timeout DURATION limit for the application's answer and each body gap (default 30s)
  --shutdown-timeout DURATION how long SIGTERM waits for in-flight requests (default 25s)
  --log-level LEVEL           fatal, error, warn, info, debug, trace or silent (default info; logs go to stderr)
  -h, --help                  this text

Every option can also be set with an environment variable: SCOPEGATE_ and the option name in upper
case with '_' for '-' (SCOPEGATE_RESOURCES, SCOPEGATE_ORG_ID, SCOPEGATE_FORWARD_AUTHORIZATION=true, ...).`;

export interface HostPort {
  host: string;
  port: number;
}

export interface CommonOptions {
  upstream: string;
  listen: HostPort;
  admin: HostPort;
  auditLog: string;
  upstreamTimeoutMs: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

export interface StandaloneModeOptions extends CommonOptions {
  mode: 'standalone';
  resources: string;
  tenant: Tenant;
  forwardAuthorization: boolean;
}

export interface InClusterModeOptions extends CommonOptions {
  mode: 'in-cluster';
  configPublicKey: string;
  configDir: string;
  operatorUrl?: string;
}

export type SidecarOptions = StandaloneModeOptions | InClusterModeOptions;

export type ParsedSidecarOptions =
  { kind: 'options'; options: SidecarOptions } | { kind: 'help' } | { kind: 'error'; errors: string[] };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

const STRING_OPTIONS = [
  'resources',
  'cloud',
  'org-id',
  'cloud-domain',
  'config-public-key',
  'config-dir',
  'operator-url',
  'upstream',
  'listen',
  'admin',
  'audit-log',
  'upstream-timeout',
  'shutdown-timeout',
  'log-level',
] as const;
const BOOLEAN_OPTIONS = ['forward-authorization'] as const;
type OptionName = (typeof STRING_OPTIONS)[number] | (typeof BOOLEAN_OPTIONS)[number];

/** SCOPEGATE_ORG_ID for org-id. */
export function envName(option: string): string {
  return `SCOPEGATE_${option.toUpperCase().replaceAll('-', '_')}`;
}

/** Tenant names become part of `<cloud>::<org>::<role>` and admin IDs: one token, no separators. */
const TENANT_PART = /^[A-Za-z0-9_.-]{1,128}$/;
const DOMAIN = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

export function parseSidecarOptions(
  argv: string[],
  env: Record<string, string | undefined>,
): ParsedSidecarOptions {
  let values: Partial<Record<OptionName | 'help', string | boolean>>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        ...Object.fromEntries(STRING_OPTIONS.map((name) => [name, { type: 'string' as const }])),
        ...Object.fromEntries(BOOLEAN_OPTIONS.map((name) => [name, { type: 'boolean' as const }])),
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { kind: 'error', errors: [(error as Error).message] };
  }
  if (values.help === true) return { kind: 'help' };

  const errors: string[] = [];
  const text = (name: (typeof STRING_OPTIONS)[number]): string | undefined => {
    const value = (values[name] as string | undefined) ?? env[envName(name)];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const required = (name: (typeof STRING_OPTIONS)[number], why = ''): string => {
    const value = text(name);
    if (value === undefined) errors.push(`--${name} (or ${envName(name)}) is required${why}`);
    return value ?? '';
  };
  const flag = (name: (typeof BOOLEAN_OPTIONS)[number]): boolean => {
    if (values[name] === true) return true;
    const value = env[envName(name)]?.trim().toLowerCase();
    if (value === undefined || value === '' || value === 'false' || value === '0') return false;
    if (value === 'true' || value === '1') return true;
    errors.push(`${envName(name)} must be true or false, got ${JSON.stringify(value)}`);
    return false;
  };
  const duration = (name: (typeof STRING_OPTIONS)[number], fallback: string): number => {
    const value = text(name) ?? fallback;
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0)
      errors.push(`--${name} must be a duration like 30s or 1m, got ${JSON.stringify(value)}`);
    return ms ?? 0;
  };

  const standalone = text('resources') !== undefined;
  const inCluster = text('config-public-key') !== undefined || text('config-dir') !== undefined;
  if (standalone && inCluster) {
    errors.push(
      '--resources (standalone) cannot be combined with --config-public-key/--config-dir (in-cluster)',
    );
  } else if (!standalone && !inCluster) {
    errors.push(
      'give either --resources (standalone mode) or --config-public-key and --config-dir (in-cluster mode)',
    );
  }

  const logLevel = (text('log-level') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) errors.push(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const common: CommonOptions = {
    upstream: checkUpstream(required('upstream'), errors),
    listen: checkHostPort('listen', required('listen'), errors),
    admin: checkHostPort('admin', required('admin'), errors),
    auditLog: text('audit-log') ?? '-',
    upstreamTimeoutMs: duration('upstream-timeout', '30s'),
    shutdownTimeoutMs: duration('shutdown-timeout', '25s'),
    logLevel,
  };
  if (
    errors.length === 0 &&
    common.listen.port !== 0 &&
    common.listen.port === common.admin.port &&
    common.listen.host === common.admin.host
  ) {
    errors.push('--listen and --admin must differ: the admin API is never served on the public port');
  }

  let options: SidecarOptions | undefined;
  if (standalone && !inCluster) {
    const cloudName = required('cloud', ' in standalone mode');
    const orgId = required('org-id', ' in standalone mode');
    const cloudDomain = text('cloud-domain') ?? cloudName;
    if (cloudName !== '' && !TENANT_PART.test(cloudName))
      errors.push("--cloud may contain only letters, digits, '_', '.' and '-'");
    if (orgId !== '' && !TENANT_PART.test(orgId))
      errors.push("--org-id may contain only letters, digits, '_', '.' and '-'");
    if (cloudDomain !== '' && !DOMAIN.test(cloudDomain))
      errors.push('--cloud-domain must be a DNS domain name');
    options = {
      mode: 'standalone',
      ...common,
      resources: required('resources'),
      tenant: { cloudName, orgId, cloudDomain },
      forwardAuthorization: flag('forward-authorization'),
    };
    for (const name of ['config-public-key', 'config-dir', 'operator-url'] as const) {
      if (text(name) !== undefined) errors.push(`--${name} applies to in-cluster mode only`);
    }
  } else if (inCluster && !standalone) {
    options = {
      mode: 'in-cluster',
      ...common,
      configPublicKey: required('config-public-key', ' in in-cluster mode'),
      configDir: required('config-dir', ' in in-cluster mode'),
    };
    const operatorUrl = text('operator-url');
    if (operatorUrl !== undefined) options.operatorUrl = checkHttpUrl('operator-url', operatorUrl, errors);
    for (const name of ['cloud', 'org-id', 'cloud-domain'] as const) {
      if (text(name) !== undefined)
        errors.push(`--${name} applies to standalone mode only (the operator sets the tenant)`);
    }
    if (flag('forward-authorization')) {
      errors.push(
        '--forward-authorization applies to standalone mode only (in a pod the config bundle decides)',
      );
    }
  }
  if (errors.length > 0 || options === undefined) return { kind: 'error', errors };
  return { kind: 'options', options };
}

/** `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces). */
export function parseHostPort(value: string): HostPort | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (match === null) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? (match[2] === '' ? '0.0.0.0' : (match[2] as string));
  return { host, port };
}

function checkHostPort(name: string, value: string, errors: string[]): HostPort {
  if (value === '') return { host: '', port: 0 };
  const parsed = parseHostPort(value);
  if (parsed === undefined)
    errors.push(
      `--${name} must be HOST:PORT (e.g. 0.0.0.0:8443 or [::1]:8443), got ${JSON.stringify(value)}`,
    );
  return parsed ?? { host: '', port: 0 };
}

function checkHttpUrl(name: string, value: string, errors: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    errors.push(`--${name} must be an http:// or https:// URL, got ${JSON.stringify(value)}`);
    return value;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    errors.push(`--${name} must be an http:// or https:// URL`);
  if (url.username !== '' || url.password !== '') errors.push(`--${name} must not carry credentials`);
  return value;
}

/** The application's origin: the sidecar forwards the normalised request path as is, under no prefix. */
function checkUpstream(value: string, errors: string[]): string {
  if (value === '') return value;
  checkHttpUrl('upstream', value, errors);
  try {
    const url = new URL(value);
    if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
      errors.push('--upstream must be an origin like http://127.0.0.1:8080, without a path or query');
    }
    return url.origin;
  } catch {
    return value;
  }
}
