import { describe, expect, it } from 'vitest';
import { renderBundles, type NamespaceResources } from '../../../operator/src/bundles/render.js';
import {
  selectorsMayOverlap,
  effectiveRoles,
  effectiveServers,
} from '../../../operator/src/controllers/effective.js';
import { RSA_KEY, role, server, TENANT } from './builders.js';

const now = new Date('2025-02-01T00:00:00Z');
const target = (
  uid: string,
  namespace: string,
  labels: Record<string, string> = {},
  forwardAuthorization = false,
) => ({
  uid,
  namespace,
  labels,
  forwardAuthorization,
});

describe('renderBundles', () => {
  const teamA: NamespaceResources = {
    servers: [{ resource: server('idp'), keys: { keys: [RSA_KEY] } }],
    roles: [role('reader'), role('admin', { workloadSelector: { matchLabels: { tier: 'admin' } } })],
  };
  const teamB: NamespaceResources = {
    servers: [{ resource: server('idp-b', {}, { namespace: 'team-b' }), keys: { keys: [RSA_KEY] } }],
    roles: [role('b-only', {}, { namespace: 'team-b' })],
  };
  const resources = new Map([
    ['team-a', teamA],
    ['team-b', teamB],
  ]);

  it('builds one bundle per distinct selection, shared by pods with equal configs', () => {
    const r = renderBundles(
      TENANT,
      resources,
      [
        target('p1', 'team-a', { app: 'x' }),
        target('p2', 'team-a', { app: 'y' }),
        target('p3', 'team-a', { tier: 'admin' }),
        target('p4', 'team-b'),
      ],
      now,
    );
    expect(r.groups.size).toBe(3);
    expect(r.podGroups.get('p1')).toBe(r.podGroups.get('p2'));
    expect(r.podGroups.get('p3')).not.toBe(r.podGroups.get('p1'));
    const g3 = r.groups.get(r.podGroups.get('p3')!)!;
    expect(g3.roleNames.sort()).toEqual(['admin', 'reader']);
    expect(g3.config.revision).toBe(0);
  });

  it('never lets a role of namespace A reach a pod of namespace B', () => {
    const r = renderBundles(TENANT, resources, [target('p4', 'team-b')], now);
    const g = [...r.groups.values()][0]!;
    expect(g.config.namespace).toBe('team-b');
    expect(g.config.roles.map((x) => x.name)).toEqual(['b-only']);
    expect(g.config.authorizationServers.map((s) => s.name)).toEqual(['idp-b']);
  });

  it('gives pods of a namespace without resources an empty (deny-all) config', () => {
    const r = renderBundles(TENANT, resources, [target('p5', 'team-c')], now);
    const g = [...r.groups.values()][0]!;
    expect(g.config.roles).toEqual([]);
    expect(g.config.authorizationServers).toEqual([]);
  });

  it('separates pods that forward the Authorization header', () => {
    const r = renderBundles(
      TENANT,
      resources,
      [target('p1', 'team-a'), target('p2', 'team-a', {}, true)],
      now,
    );
    expect(r.groups.size).toBe(2);
  });

  it('digests content only: same resources, same digest, whatever the time', () => {
    const a = renderBundles(TENANT, resources, [target('p1', 'team-a')], now);
    const b = renderBundles(TENANT, resources, [target('p1', 'team-a')], new Date('2030-01-01T00:00:00Z'));
    expect([...a.groups.values()][0]!.digest).toBe([...b.groups.values()][0]!.digest);
  });
});

describe('effective resources', () => {
  it.each([
    [undefined, undefined, true],
    [{ matchLabels: { app: 'a' } }, undefined, true],
    [{ matchLabels: { app: 'a' } }, { matchLabels: { tier: 'x' } }, true],
    [{ matchLabels: { app: 'a' } }, { matchLabels: { app: 'b' } }, false],
  ])('selectorsMayOverlap(%j, %j) = %s', (a, b, expected) => {
    expect(selectorsMayOverlap(a, b)).toBe(expected);
    expect(selectorsMayOverlap(b, a)).toBe(expected);
  });

  it('keeps the oldest of duplicates and drops disabled servers', () => {
    const servers = [
      server('new', { issuer: 'https://same' }, { creationTimestamp: '2025-03-01T00:00:00Z' }),
      server('old', { issuer: 'https://same' }),
      server('off', { enabled: false }),
    ];
    expect(effectiveServers(servers).map((s) => s.metadata.name)).toEqual(['old']);
    const roles = [
      role('b', { roleName: 'x' }, { creationTimestamp: '2025-03-01T00:00:00Z' }),
      role('a', { roleName: 'x' }),
    ];
    expect(effectiveRoles(roles).map((r) => r.metadata.name)).toEqual(['a']);
  });

  it('breaks creation-time ties by name, the same way on every replica', () => {
    const roles = [role('b', { roleName: 'x' }), role('a', { roleName: 'x' })];
    expect(effectiveRoles(roles).map((r) => r.metadata.name)).toEqual(['a']);
  });
});
