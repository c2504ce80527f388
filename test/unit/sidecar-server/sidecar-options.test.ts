import { describe, expect, it } from 'vitest';
import { parseHostPort, parseSidecarOptions } from '../../../sidecar/src/cli/sidecar-options.js';

const common = [
  '--upstream',
  'http://127.0.0.1:8080',
  '--listen',
  '0.0.0.0:8443',
  '--admin',
  '127.0.0.1:9901',
];
const standalone = ['--resources', 'r.yaml', '--cloud', 'zscaler', '--org-id', '42', ...common];
const inCluster = ['--config-public-key', 'k.pem', '--config-dir', '/var/run/scopegate', ...common];

describe('parseSidecarOptions', () => {
  it('reads standalone mode with defaults', () => {
    const parsed = parseSidecarOptions(standalone, {});
    expect(parsed).toEqual({
      kind: 'options',
      options: {
        mode: 'standalone',
        resources: 'r.yaml',
        tenant: { cloudName: 'zscaler', orgId: '42', cloudDomain: 'zscaler' },
        forwardAuthorization: false,
        upstream: 'http://127.0.0.1:8080',
        listen: { host: '0.0.0.0', port: 8443 },
        admin: { host: '127.0.0.1', port: 9901 },
        auditLog: '-',
        upstreamTimeoutMs: 30_000,
        shutdownTimeoutMs: 25_000,
        logLevel: 'info',
      },
    });
  });

  it('reads in-cluster mode and lets flags win over the environment', () => {
    const parsed = parseSidecarOptions([...inCluster, '--operator-url', 'https://op:9443'], {
      SCOPEGATE_CONFIG_DIR: '/ignored',
      SCOPEGATE_AUDIT_LOG: '/var/log/audit.jsonl',
    });
    expect(parsed.kind).toBe('options');
    if (parsed.kind !== 'options' || parsed.options.mode !== 'in-cluster') return;
    expect(parsed.options.configDir).toBe('/var/run/scopegate');
    expect(parsed.options.operatorUrl).toBe('https://op:9443');
    expect(parsed.options.auditLog).toBe('/var/log/audit.jsonl');
  });

  it('takes everything from SCOPEGATE_* variables', () => {
    const parsed = parseSidecarOptions([], {
      SCOPEGATE_RESOURCES: 'r.yaml',
      SCOPEGATE_CLOUD: 'zs',
      SCOPEGATE_ORG_ID: '7',
      SCOPEGATE_CLOUD_DOMAIN: 'zscaler.net',
      SCOPEGATE_UPSTREAM: 'http://127.0.0.1:1',
      SCOPEGATE_LISTEN: ':8443',
      SCOPEGATE_ADMIN: '[::1]:9901',
      SCOPEGATE_FORWARD_AUTHORIZATION: 'true',
    });
    expect(parsed.kind).toBe('options');
    if (parsed.kind !== 'options' || parsed.options.mode !== 'standalone') return;
    expect(parsed.options.tenant.cloudDomain).toBe('zscaler.net');
    expect(parsed.options.forwardAuthorization).toBe(true);
    expect(parsed.options.admin).toEqual({ host: '::1', port: 9901 });
  });

  it('reports every mistake at once', () => {
    const parsed = parseSidecarOptions(
      ['--resources', 'r.yaml', '--upstream', 'http://x/app', '--listen', 'nope'],
      {},
    );
    expect(parsed.kind).toBe('error');
    if (parsed.kind !== 'error') return;
    expect(parsed.errors.join('\n')).toMatch(/--admin .* is required/);
    expect(parsed.errors.join('\n')).toMatch(/--cloud .* is required/);
    expect(parsed.errors.join('\n')).toMatch(/--upstream must be an origin/);
    expect(parsed.errors.join('\n')).toMatch(/--listen must be HOST:PORT/);
  });

  it('refuses mixed modes, unknown flags, bad tenants and a shared port', () => {
    expect(parseSidecarOptions([...standalone, '--config-dir', 'd'], {}).kind).toBe('error');
    expect(parseSidecarOptions([...standalone, '--bogus'], {}).kind).toBe('error');
    expect(parseSidecarOptions([...standalone, '--org-id', 'a::b'], {}).kind).toBe('error');
    const same = parseSidecarOptions([...standalone, '--admin', '0.0.0.0:8443'], {});
    expect(same.kind === 'error' && same.errors.join()).toContain('must differ');
    expect(parseSidecarOptions(['--help'], {}).kind).toBe('help');
  });
});

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:80', { host: '127.0.0.1', port: 80 }],
    [':0', { host: '0.0.0.0', port: 0 }],
    ['[::]:8443', { host: '::', port: 8443 }],
    ['localhost:99999', undefined],
    ['8443', undefined],
  ])('%s', (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });
});
