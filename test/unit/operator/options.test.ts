import { describe, expect, it } from 'vitest';
import { parseHostPort, parseOperatorOptions, tenantFieldProblem } from '../../../operator/src/options.js';

const ok = (argv: string[], env: Record<string, string> = {}) => {
  const r = parseOperatorOptions(argv, env);
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r.options;
};
const errors = (argv: string[], env: Record<string, string> = {}) => {
  const r = parseOperatorOptions(argv, env);
  return r.ok || r.help ? [] : r.errors;
};

describe('parseOperatorOptions', () => {
  it('reads flags, with defaults for everything but the tenant', () => {
    const o = ok(['--cloud', 'zscloud', '--org-id', '1234']);
    expect(o.tenant).toEqual({ cloudName: 'zscloud', orgId: '1234', cloudDomain: 'zscloud' });
    expect(o.namespaces).toEqual([]);
    expect(o.httpAddr).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(o.leaderElection).toMatchObject({
      enabled: true,
      leaseName: 'scopegate-operator',
      leaseNamespace: 'scopegate-system',
      leaseDurationMs: 10_000,
    });
    expect(o.signingSecret).toEqual({ name: 'scopegate-config-signing-key', namespace: 'scopegate-system' });
  });

  it('falls back to environment variables, and flags win over them', () => {
    const o = ok(['--org-id', '99'], {
      SCOPEGATE_CLOUD: 'c',
      SCOPEGATE_ORG_ID: '1',
      SCOPEGATE_WATCH_NAMESPACES: 'a, b',
      POD_NAMESPACE: 'ops',
      POD_NAME: 'op-0',
      SCOPEGATE_HTTP_ADDR: '127.0.0.1:9090',
    });
    expect(o.tenant.orgId).toBe('99');
    expect(o.namespaces).toEqual(['a', 'b']);
    expect(o.leaderElection).toMatchObject({ leaseNamespace: 'ops', identity: 'op-0' });
    expect(o.httpAddr).toEqual({ host: '127.0.0.1', port: 9090 });
  });

  it.each([
    [[], 'the tenant cloud name is required'],
    [['--cloud', 'a::b', '--org-id', '1'], "contains '::'"],
    [['--cloud', 'a b', '--org-id', '1'], 'contains whitespace'],
    [['--cloud', 'a', '--org-id', ''], 'org ID is empty'],
    [['--cloud', 'a', '--org-id', '1@2'], "contains '$' or '@'"],
    [['--cloud', 'a', '--org-id', '1', '--http-addr', 'localhost'], 'must be host:port'],
    [
      ['--cloud', 'a', '--org-id', '1', '--lease-duration', '5s', '--renew-deadline', '5s'],
      'renew-deadline must be shorter',
    ],
    [['--cloud', 'a', '--org-id', '1', '--relist-interval', 'soon'], 'is not a duration'],
    [['--cloud', 'a', '--org-id', '1', '--namespaces', 'Team_A'], "'Team_A' is not a valid namespace"],
    [['--cloud', 'a', '--org-id', '1', '--push-concurrency', '0'], 'whole number from 1'],
    [['--cloud', 'a', '--org-id', '1', '--bogus'], "Unknown option '--bogus'"],
  ])('rejects %j with a clear message', (argv, message) => {
    expect(errors(argv).join('\n')).toContain(message);
  });

  it('reports every problem at once', () => {
    expect(errors(['--cloud', 'a b', '--org-id', 'x::y', '--log-level', 'loud'])).toHaveLength(3);
  });

  it('answers --help', () => {
    expect(parseOperatorOptions(['--help'], {})).toEqual({ ok: false, help: true });
  });
});

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    [':9090', { host: '0.0.0.0', port: 9090 }],
    ['[::1]:0', { host: '::1', port: 0 }],
    ['localhost:70000', undefined],
    ['8080', undefined],
  ])('%s', (text, expected) => expect(parseHostPort(text)).toEqual(expected));
});

describe('tenantFieldProblem', () => {
  it('accepts ordinary identifiers', () => {
    expect(tenantFieldProblem('org ID', '8061240')).toBeUndefined();
    expect(tenantFieldProblem('cloud name', 'zscalerthree.net')).toBeUndefined();
  });
});
