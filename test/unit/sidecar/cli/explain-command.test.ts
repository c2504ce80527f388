import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { runExplainCommand, type ExplainIo } from '../../../../sidecar/src/cli/explain-command.js';
import { authorizationServer, makeKey, mint, scope } from '../builders.js';

const DEMO = ['--resources', 'docs/examples/generic.yaml', '--cloud', 'demo', '--org-id', '1234567'];
const READER = ['--token', '@docs/examples/demo/reader.jwt'];

async function run(argv: string[], files: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: ExplainIo = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    readText: async (path) => files[path] ?? readFile(path, 'utf8'),
    now: () => new Date('2030-01-01T00:00:00Z'),
  };
  const code = await runExplainCommand(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('scopegate explain', () => {
  it('allows the README example and says which scope, role and permission did it (exit 0)', async () => {
    const { code, out } = await run([...DEMO, ...READER, '--method', 'GET', '--path', '/v1/items']);
    expect(code).toBe(0);
    expect(out).toMatch(/Decision\s+ALLOW\s+200 allowed/);
    expect(out).toMatch(/demo::1234567::reader → role reader/);
    expect(out).toMatch(/Decided by\s+permission: role reader, permission read-v1: \/v1\/\*\* grants "GET"/);
    expect(out).toMatch(/Admin IDs\s+oauth-reader\$@1234567\.demo/);
  });

  it('denies with the roles and permissions it considered (exit 1)', async () => {
    const { code, out } = await run([...DEMO, ...READER, '--method', 'DELETE', '--path', '/v1/items/42']);
    expect(code).toBe(1);
    expect(out).toMatch(/DENY\s+403 permission_denied/);
    expect(out).toMatch(
      /reader \/ read-v1 \(access ViewOnly; ApiRole reader\): path matches \/v1\/\*\*; does not grant DELETE/,
    );
    expect(out).toMatch(/reader \/ no-admin \(access None; ApiRole reader\): path does not match; no effect/);
  });

  it('shows a None deny as the deciding step', async () => {
    const { code, out } = await run([...DEMO, ...READER, '--method', 'get', '--path', '/v1/admin/users']);
    expect(code).toBe(1);
    expect(out).toMatch(
      /FAIL\s+permission role reader, permission no-admin \(access None\) matches \/v1\/admin\/\*\*/,
    );
  });

  it('never prints the token, only its header and claims', async () => {
    const token = (await readFile('docs/examples/demo/reader.jwt', 'utf8')).trim();
    for (const json of [[], ['--json']]) {
      const { out } = await run([
        ...DEMO,
        '--token',
        token,
        '--method',
        'GET',
        '--path',
        '/v1/items',
        ...json,
      ]);
      expect(out).not.toContain(token);
      expect(out).not.toContain(token.split('.')[2]);
      expect(out).toContain('demo-client');
    }
  });

  it('prints JSON for machines', async () => {
    const { code, out } = await run([
      ...DEMO,
      ...READER,
      '--method',
      'POST',
      '--path',
      '/v1/items',
      '--json',
    ]);
    expect(code).toBe(1);
    const report = JSON.parse(out);
    expect(report.decision).toMatchObject({
      allow: false,
      reason: 'permission_denied',
      status: 403,
      path: '/v1/items',
    });
    expect(report.token.claims.scope).toBe('demo::1234567::reader');
    expect(report.decision.considered).toHaveLength(2);
  });

  it('uses --now for time checks', async () => {
    const late = await run([
      ...DEMO,
      ...READER,
      '--method',
      'GET',
      '--path',
      '/v1/items',
      '--now',
      '2100-01-01T00:00:00Z',
    ]);
    expect(late.code).toBe(1);
    expect(late.out).toMatch(/token_expired/);
  });

  it('says clearly that jwks.uri servers cannot be used offline', async () => {
    const key = await makeKey('k1');
    const server = authorizationServer('remote');
    const yaml = `${JSON.stringify(server)}\n---\n${JSON.stringify({ apiVersion: 'scopegate.io/v1alpha1', kind: 'ApiRole', metadata: { name: 'admin' }, spec: { permissions: [{ name: 'all', paths: ['/**'], access: 'Full' }] } })}\n`;
    const token = await mint(key, { scope: scope('admin'), exp: 2_000_000_000 });
    const { code, out } = await run(
      [
        '--resources',
        'r.yaml',
        '--cloud',
        'demo',
        '--org-id',
        '1234567',
        '--token',
        token,
        '--method',
        'GET',
        '--path',
        '/',
      ],
      { 'r.yaml': yaml },
    );
    expect(code).toBe(1);
    expect(out).toMatch(/remote: jwks\.uri .* is not fetched offline/);
    expect(out).toMatch(/key_unknown/);
  });

  it('reports an invalid document with its index, kind, name, field and reason (exit 2)', async () => {
    const yaml = `apiVersion: scopegate.io/v1alpha1
kind: ApiRole
metadata: {name: ok}
spec: {permissions: [{name: a, paths: [/], access: Full}]}
---
apiVersion: scopegate.io/v1alpha1
kind: ApiRole
metadata: {name: broken}
spec: {permissions: [{name: a, paths: [/], access: Sometimes}]}
`;
    const { code, err } = await run(
      [
        '--resources',
        'r.yaml',
        '--cloud',
        'c',
        '--org-id',
        '1',
        '--token',
        'x',
        '--method',
        'GET',
        '--path',
        '/',
      ],
      {
        'r.yaml': yaml,
      },
    );
    expect(code).toBe(2);
    expect(err).toMatch(
      /r\.yaml, document 2 \(ApiRole broken\): spec\.permissions\[0\]\.access: Unsupported value/,
    );
  });

  it.each([
    [['--cloud', 'demo'], /--resources is required|--org-id is required/],
    [[...DEMO, ...READER, '--method', 'GET'], /--path is required/],
    [[...DEMO, ...READER, '--path', '/'], /--method is required/],
    [[...DEMO, '--method', 'GET', '--path', '/'], /--token is required/],
    [
      [...DEMO, ...READER, '--method', 'GET', '--path', '/', '--now', 'soon'],
      /--now is not an ISO-8601 time/,
    ],
    [[...DEMO, ...READER, '--method', 'GET', '--path', '/', '--bogus'], /Unknown option/],
    [
      ['--resources', 'x', '--cloud', 'a::b', '--org-id', '1', ...READER, '--method', 'GET', '--path', '/'],
      /--cloud may contain only/,
    ],
    [
      [...DEMO, '--token', '@missing.jwt', '--method', 'GET', '--path', '/'],
      /cannot read the token file missing\.jwt/,
    ],
    [
      [...DEMO.slice(0, 1), 'nope.yaml', ...DEMO.slice(2), ...READER, '--method', 'GET', '--path', '/'],
      /cannot read nope\.yaml/,
    ],
  ])('usage error %# exits 2', async (argv, message) => {
    const { code, err } = await run(argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  it('prints help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(0);
    expect(out).toMatch(/Usage: scopegate explain/);
  });
});
