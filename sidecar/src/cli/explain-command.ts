/**
 * `scopegate explain`: decides one request offline, with the very pipeline the sidecar runs
 * (buildSidecarConfig → compileConfig → decide), and shows every step, the one that decided and why.
 * Reads the resource YAML exactly as the standalone sidecar does. Never prints the token itself:
 * only its header and claims, which the user already has.
 * Exit codes: 0 allowed, 1 denied, 2 usage or input error.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { AuthorizationServer } from '../../../crds/src/index.js';
import type { Tenant } from '../config/contract.js';
import { buildSidecarConfig } from '../config/from-resources.js';
import { SCOPE_PART_PATTERN } from '../config/schema.js';
import { compileConfig, decide, type Decision } from '../pipeline/decide.js';
import type { ConsideredPermission } from '../policy/authorize.js';
import { parseResources } from '../standalone/resources-file.js';

export const EXPLAIN_USAGE = `Usage: scopegate explain --resources FILE --cloud NAME --org-id ID [--cloud-domain DOMAIN]
                         --token TOKEN|@FILE --method METHOD --path PATH [--now ISO-8601] [--json]

Decides one request offline, exactly as the sidecar would, and explains every step.

  --resources FILE      multi-document YAML of AuthorizationServer and ApiRole objects (kubectl apply -f format)
  --cloud NAME          tenant cloud name: scopes read <cloudName>::<orgId>::<roleName>
  --org-id ID           tenant organization ID
  --cloud-domain D      domain of admin IDs oauth-<role>$@<orgId>.<domain> (default: the cloud name)
  --token TOKEN|@FILE   the access token, or @ and a file holding it (prefer @FILE: arguments show in ps)
  --method METHOD       HTTP method, e.g. GET
  --path PATH           request path as sent, query string included, e.g. /v1/items?limit=10
  --now ISO-8601        evaluate at this time instead of now, e.g. 2030-01-01T00:00:00Z
  --json                print the decision as JSON

Offline only: keys come from jwks.inline; servers with jwks.uri have no keys here, so their tokens
fail with key_unknown. Exit status: 0 allowed, 1 denied, 2 usage or input error.`;

export interface ExplainIo {
  out: (text: string) => void;
  err: (text: string) => void;
  readText: (path: string) => Promise<string>;
  now: () => Date;
}

const defaultIo: ExplainIo = {
  out: (text) => console.log(text),
  err: (text) => console.error(text),
  readText: (path) => readFile(path, 'utf8'),
  now: () => new Date(),
};

interface ExplainOptions {
  resources: string;
  tenant: Tenant;
  token: string;
  method: string;
  path: string;
  now: Date;
  json: boolean;
}

class UsageError extends Error {}

/** A token file is one line; anything near this size is not a token file. */
const MAX_TOKEN_FILE = 64 * 1024;

export async function runExplainCommand(argv: string[], io: ExplainIo = defaultIo): Promise<number> {
  let options: ExplainOptions | 'help';
  try {
    options = await parseOptions(argv, io);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`scopegate explain: ${error.message}\n\nRun 'scopegate explain --help' for usage.`);
    return 2;
  }
  if (options === 'help') {
    io.out(EXPLAIN_USAGE);
    return 0;
  }

  let text: string;
  try {
    text = await io.readText(options.resources);
  } catch (error) {
    io.err(`scopegate explain: cannot read ${options.resources}: ${(error as Error).message}`);
    return 2;
  }
  const loaded = parseResources(text, options.resources);
  if (!loaded.ok) {
    io.err(loaded.errors.map((e) => `scopegate explain: ${e}`).join('\n'));
    return 2;
  }
  const { servers, roles } = loaded.resources;
  const config = buildSidecarConfig({
    tenant: options.tenant,
    revision: 1,
    now: options.now,
    servers: servers.map((resource) => ({ resource, keys: resource.spec.jwks.inline })),
    roles,
  });
  const compiled = await compileConfig(config);
  const decision = await decide(
    compiled,
    { method: options.method, url: options.path, authorization: `Bearer ${options.token}` },
    options.now,
    undefined,
    { explain: true },
  );
  const report: Report = {
    request: { method: options.method, path: options.path, now: options.now.toISOString() },
    tenant: options.tenant,
    resources: { file: options.resources, authorizationServers: servers.length, apiRoles: roles.length },
    keys: servers.map(describeKeySource),
    token: decodeForDisplay(options.token),
    warnings: compiled.warnings,
    decision,
  };
  io.out(options.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return decision.allow ? 0 : 1;
}

async function parseOptions(argv: string[], io: ExplainIo): Promise<ExplainOptions | 'help'> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        resources: { type: 'string' },
        cloud: { type: 'string' },
        'org-id': { type: 'string' },
        'cloud-domain': { type: 'string' },
        token: { type: 'string' },
        method: { type: 'string' },
        path: { type: 'string' },
        now: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values['help'] === true) return 'help';
  const required = (name: string): string => {
    const value = values[name];
    if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
    return value;
  };
  const part = (name: string, value: string): string => {
    if (!new RegExp(SCOPE_PART_PATTERN).test(value)) {
      throw new UsageError(`--${name} may contain only letters, digits, '_', '.' and '-'`);
    }
    return value;
  };
  const cloudName = part('cloud', required('cloud'));
  const orgId = part('org-id', required('org-id'));
  const cloudDomain = part('cloud-domain', (values['cloud-domain'] as string | undefined) ?? cloudName);
  const method = required('method');
  if (!/^[A-Za-z]{1,20}$/.test(method)) throw new UsageError('--method must be an HTTP method such as GET');
  const path = required('path');
  const nowText = values['now'] as string | undefined;
  const now = nowText === undefined ? io.now() : new Date(nowText);
  if (Number.isNaN(now.getTime())) throw new UsageError(`--now is not an ISO-8601 time: ${nowText}`);
  return {
    resources: required('resources'),
    tenant: { cloudName, orgId, cloudDomain },
    token: await readToken(required('token'), io),
    // Clients send methods upper-case (Node refuses anything else); `get` on the command line means GET.
    method: method.toUpperCase(),
    path,
    now,
    json: values['json'] === true,
  };
}

async function readToken(value: string, io: ExplainIo): Promise<string> {
  if (!value.startsWith('@')) return value.trim();
  const file = value.slice(1);
  let text: string;
  try {
    text = await io.readText(file);
  } catch (error) {
    throw new UsageError(`cannot read the token file ${file}: ${(error as Error).message}`);
  }
  if (text.length > MAX_TOKEN_FILE)
    throw new UsageError(`the token file ${file} is too large to hold one token`);
  return text.trim();
}

interface Report {
  request: { method: string; path: string; now: string };
  tenant: Tenant;
  resources: { file: string; authorizationServers: number; apiRoles: number };
  keys: { server: string; source: string }[];
  token: { header: unknown; claims: unknown } | { error: string };
  warnings: string[];
  decision: Decision;
}

function describeKeySource(server: AuthorizationServer): { server: string; source: string } {
  const { name } = server.metadata;
  if (server.spec.jwks.inline !== undefined) {
    const kids = server.spec.jwks.inline.keys.map((k) => k.kid ?? '(no kid)').join(', ');
    return { server: name, source: `${server.spec.jwks.inline.keys.length} inline key(s): ${kids}` };
  }
  return {
    server: name,
    source: `jwks.uri ${server.spec.jwks.uri ?? ''} is not fetched offline: this server has no keys here, its tokens fail with key_unknown`,
  };
}

/** Header and claims for display; the signature (and so the token) is never shown. */
function decodeForDisplay(token: string): Report['token'] {
  const [header, claims] = token.split('.');
  try {
    return {
      header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')),
      claims: JSON.parse(Buffer.from(claims ?? '', 'base64url').toString('utf8')),
    };
  } catch {
    return { error: 'the token header or claims are not decodable JSON' };
  }
}

const STEP_WIDTH = 11;

function formatReport(report: Report): string {
  const { decision } = report;
  const lines: string[] = [];
  const field = (label: string, text: string) => lines.push(`${label.padEnd(12)}${text}`);
  field('Request', `${report.request.method} ${report.request.path}   (at ${report.request.now})`);
  field(
    'Tenant',
    `${report.tenant.cloudName}::${report.tenant.orgId}::<role>   admin IDs @${report.tenant.orgId}.${report.tenant.cloudDomain}`,
  );
  field(
    'Resources',
    `${report.resources.file}: ${report.resources.authorizationServers} AuthorizationServer(s), ${report.resources.apiRoles} ApiRole(s)`,
  );
  report.keys.forEach((k, i) => field(i === 0 ? 'Keys' : '', `${k.server}: ${k.source}`));
  if ('error' in report.token) {
    field('Token', report.token.error);
  } else {
    field('Token', `header ${JSON.stringify(report.token.header)}`);
    field('', `claims ${formatClaims(report.token.claims)}`);
  }
  for (const warning of report.warnings) field('Warning', warning);
  lines.push('', 'Steps');
  for (const step of decision.steps) {
    lines.push(`  ${(step.ok ? 'ok' : 'FAIL').padEnd(6)}${step.step.padEnd(STEP_WIDTH)}${step.detail}`);
  }
  const decisive = decision.steps.at(-1);
  lines.push('');
  field(
    'Decision',
    `${decision.allow ? 'ALLOW' : 'DENY'}  ${decision.status} ${decision.reason}: ${decision.message}`,
  );
  if (decisive !== undefined) field('Decided by', `${decisive.step}: ${decisive.detail}`);
  if (decision.principal !== undefined) {
    const p = decision.principal;
    field(
      'Principal',
      `client ${p.clientId ?? '(none)'} via ${p.server}; roles ${p.roles.join(', ') || '(none)'}`,
    );
    if (p.adminIds.length > 0) field('Admin IDs', p.adminIds.join(', '));
  }
  if (decision.unknownKid !== undefined) {
    field(
      'Unknown kid',
      `${decision.unknownKid.kid} (server ${decision.unknownKid.server}): the sidecar would ask for fresh keys`,
    );
  }
  if (decision.considered !== undefined && decision.considered.length > 0) {
    lines.push('', 'Permissions considered');
    for (const c of decision.considered) lines.push(`  ${describeConsidered(c, report.request.method)}`);
  }
  return lines.join('\n');
}

function describeConsidered(c: ConsideredPermission, method: string): string {
  const where = c.matchedPattern === undefined ? 'path does not match' : `path matches ${c.matchedPattern}`;
  const effect =
    c.effect === 'deny'
      ? c.matchedPattern === undefined
        ? 'no effect'
        : 'DENIES every method'
      : c.coversMethod
        ? `grants ${method}`
        : `does not grant ${method}`;
  return `${c.role} / ${c.permission} (${c.summary}; ApiRole ${c.resource}): ${where}; ${effect}`;
}

function formatClaims(claims: unknown): string {
  if (claims === null || typeof claims !== 'object') return JSON.stringify(claims);
  const shown = { ...(claims as Record<string, unknown>) };
  for (const name of ['exp', 'nbf', 'iat']) {
    const value = shown[name];
    if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 1e11) {
      shown[name] = `${value} (${new Date(value * 1000).toISOString()})`;
    }
  }
  return JSON.stringify(shown);
}
