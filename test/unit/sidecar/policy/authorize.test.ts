import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HTTP_METHODS, type Permission } from '../../../../crds/src/index.js';
import type { SidecarRole } from '../../../../sidecar/src/config/contract.js';
import { authorize } from '../../../../sidecar/src/policy/authorize.js';
import { compilePolicy } from '../../../../sidecar/src/policy/compile.js';
import { normalizePath } from '../../../../sidecar/src/policy/normalize-path.js';
import { compilePathPattern, matchesPattern } from '../../../../sidecar/src/policy/path-pattern.js';

const role = (roleName: string, permissions: Permission[], name = roleName): SidecarRole => ({
  name,
  roleName,
  scope: `demo::1::${roleName}`,
  adminId: `oauth-${roleName}$@1.demo`,
  permissions,
});

function matches(pattern: string, path: string): boolean {
  const compiled = compilePathPattern(pattern);
  if (!compiled.ok) throw new Error(compiled.message);
  const normalized = normalizePath(path);
  if (!normalized.ok) throw new Error(normalized.message);
  return matchesPattern(compiled.pattern, normalized.path.split('/').filter(Boolean));
}

describe('path patterns', () => {
  const table: [string, string, boolean][] = [
    ['/', '/', true],
    ['/', '/a', false],
    ['/**', '/', true],
    ['/**', '/a/b/c', true],
    ['/v1/items', '/v1/items', true],
    ['/v1/items', '/v1/items/', true],
    ['/v1/items', '/v1/items/1', false],
    ['/v1/items', '/v1/item', false],
    ['/v1/items', '/v1/itemsx', false],
    ['/v1/items', '/V1/items', false],
    ['/v1/items/*', '/v1/items/1', true],
    ['/v1/items/*', '/v1/items', false],
    ['/v1/items/*', '/v1/items/', false],
    ['/v1/items/*', '/v1/items/1/2', false],
    ['/v1/*/items', '/v1/a/items', true],
    ['/v1/*/items', '/v1/a/b/items', false],
    ['/v1/**', '/v1', true],
    ['/v1/**', '/v1/', true],
    ['/v1/**', '/v1/a/b', true],
    ['/v1/**', '/v2/a', false],
    ['/v1/**', '/v10', false],
    ['/v1/*/**', '/v1', false],
    ['/v1/*/**', '/v1/a', true],
    ['/v1/café', '/v1/caf%C3%A9', true],
    ['/v1/caf%C3%A9', '/v1/caf%c3%a9', true],
    ['/v1/a b', '/v1/a%20b', true],
    ['/v1/abc', '/v1/%61bc', true],
  ];
  it.each(table)('%s on %s → %s', (pattern, path, expected) => {
    expect(matches(pattern, path)).toBe(expected);
  });

  it('refuses misplaced wildcards', () => {
    for (const p of ['/v1/**/x', '/v1/a*', '/v1/***', 'v1', '/v1//x', '/v1/a;b']) {
      expect(compilePathPattern(p).ok).toBe(false);
    }
  });
});

const segment = fc.constantFrom('a', 'b', 'c', 'items', '1');
const patternSegment = fc.oneof(segment, fc.constant('*'));
const pattern = fc
  .tuple(fc.array(patternSegment, { maxLength: 4 }), fc.boolean())
  .map(([segs, rest]) =>
    segs.length === 0 && !rest ? '/' : `/${[...segs, ...(rest ? ['**'] : [])].join('/')}`,
  );
const path = fc.array(segment, { maxLength: 6 }).map((segs) => `/${segs.join('/')}`);

/** An independent reference: the pattern as a regular expression over the path text. */
function referenceMatch(p: string, requestPath: string): boolean {
  if (p === '/') return requestPath === '/';
  const rest = p.endsWith('/**');
  const body = (rest ? p.slice(0, -3) : p)
    .split('/')
    .map((s) => (s === '*' ? '[^/]+' : s))
    .join('/');
  return new RegExp(`^${body}${rest ? '(/.*)?' : ''}$`).test(
    requestPath === '/' && rest && body === '' ? '' : requestPath,
  );
}

describe('path pattern properties', () => {
  it('agrees with a regular-expression reference', () => {
    fc.assert(
      fc.property(pattern, path, (p, q) => {
        expect(matches(p, q)).toBe(referenceMatch(p, q));
      }),
      { numRuns: 3000 },
    );
  });

  it('a * never matches across a slash', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), path, (stars, q) => {
        const p = `/${Array(stars).fill('*').join('/')}`;
        expect(matches(p, q)).toBe(q.split('/').filter(Boolean).length === stars);
      }),
    );
  });
});

const methods = fc.constantFrom(...HTTP_METHODS, 'TRACE', 'CONNECT', 'PROPFIND');
const permission = (name: string) =>
  fc
    .record({
      name: fc.constant(name),
      paths: fc.array(pattern, { minLength: 1, maxLength: 3 }),
      grant: fc.oneof(
        fc.constantFrom<Pick<Permission, 'access'>>(
          { access: 'Full' },
          { access: 'ViewOnly' },
          { access: 'None' },
        ),
        fc.subarray([...HTTP_METHODS], { minLength: 1 }).map((m) => ({ methods: m })),
      ),
    })
    .map(({ name: n, paths, grant }) => ({ name: n, paths, ...grant }) as Permission);
const roles = fc
  .array(fc.array(permission('p'), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 })
  .map((perRole) =>
    perRole.map((ps, i) =>
      role(
        `r${i}`,
        ps.map((p, j) => ({ ...p, name: `p${j}` })),
      ),
    ),
  );

describe('authorize properties', () => {
  it('a matching None in any of the caller’s roles always wins', () => {
    fc.assert(
      fc.property(roles, path, methods, (rs, q, m) => {
        const denyRole = role('deny', [{ name: 'never', paths: [q === '/' ? '/' : q], access: 'None' }]);
        const policy = compilePolicy([...rs, denyRole]);
        const decision = authorize(policy, [...rs.map((r) => r.roleName), 'deny'], m, q);
        expect(decision.allow).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('allows exactly when some grant covers method and path and no None matches the path', () => {
    fc.assert(
      fc.property(roles, path, methods, (rs, q, m) => {
        const policy = compilePolicy(rs);
        const all = rs.flatMap((r) => r.permissions);
        const hit = (p: Permission) => p.paths.some((x) => referenceMatch(x, q));
        const granted = (p: Permission) =>
          p.access === 'Full'
            ? (HTTP_METHODS as readonly string[]).includes(m)
            : p.access === 'ViewOnly'
              ? ['GET', 'HEAD', 'OPTIONS'].includes(m)
              : (p.methods ?? []).includes(m as never);
        const expected =
          all.some((p) => p.access !== 'None' && hit(p) && granted(p)) &&
          !all.some((p) => p.access === 'None' && hit(p));
        expect(
          authorize(
            policy,
            rs.map((r) => r.roleName),
            m,
            q,
          ).allow,
        ).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('only the roles the caller holds count', () => {
    const policy = compilePolicy([
      role('a', [{ name: 'x', paths: ['/**'], access: 'Full' }]),
      role('b', [{ name: 'y', paths: ['/**'], access: 'None' }]),
    ]);
    expect(authorize(policy, ['a'], 'GET', '/x').allow).toBe(true);
    expect(authorize(policy, ['a', 'b'], 'GET', '/x').allow).toBe(false);
    expect(authorize(policy, ['c'], 'GET', '/x').allow).toBe(false);
    expect(authorize(policy, [], 'GET', '/x').allow).toBe(false);
  });

  it('merges ApiRoles that share a roleName', () => {
    const policy = compilePolicy([
      role('ops', [{ name: 'read', paths: ['/a/**'], access: 'ViewOnly' }], 'ops-one'),
      role('ops', [{ name: 'write', paths: ['/b'], methods: ['POST'] }], 'ops-two'),
    ]);
    expect(authorize(policy, ['ops'], 'GET', '/a/1').allow).toBe(true);
    expect(authorize(policy, ['ops'], 'POST', '/b').allow).toBe(true);
    expect(policy.roles.get('ops')?.resources).toEqual(['ops-one', 'ops-two']);
  });

  it('reports patterns that can never match as warnings', () => {
    const policy = compilePolicy([role('a', [{ name: 'x', paths: ['/a;b', '/ok'], access: 'Full' }])]);
    expect(policy.warnings).toHaveLength(1);
    expect(authorize(policy, ['a'], 'GET', '/ok').allow).toBe(true);
  });
});
