import { describe, expect, it } from 'vitest';
import { decideApiRole } from '../../../operator/src/controllers/api-role/decide.js';
import { role, server, TENANT } from './builders.js';

const now = new Date('2025-02-01T10:00:00Z');
const sidecars = { selected: 3, current: 2, revision: 17 };

describe('decideApiRole', () => {
  it('computes the identifiers people copy into their identity provider', () => {
    const d = decideApiRole({
      role: role('reader'),
      peers: [],
      effectiveServers: [server('a')],
      tenant: TENANT,
      sidecars,
      now,
    });
    expect(d.status).toMatchObject({
      roleName: 'reader',
      scope: 'acme::1234::reader',
      adminId: 'oauth-reader$@1234.acme.example',
      sidecars: { selected: 3, current: 2, revision: 17 },
      observedGeneration: 1,
    });
    expect(d.status.conditions?.[0]).toMatchObject({
      type: 'Ready',
      status: 'True',
      reason: 'Ready',
      observedGeneration: 1,
    });
    expect(d.status.conditions?.[0]?.message).toContain(
      '2 of 3 sidecar(s) run the current configuration (revision 17)',
    );
    expect(d.effective).toBe(true);
  });

  it('uses spec.roleName over metadata.name', () => {
    const d = decideApiRole({
      role: role('r', { roleName: 'Billing.Admin' }),
      peers: [],
      effectiveServers: [server('a')],
      tenant: TENANT,
      sidecars,
      now,
    });
    expect(d.status.scope).toBe('acme::1234::Billing.Admin');
  });

  it.each([
    [
      'a newer role with the same name',
      role('b', { roleName: 'a' }, { creationTimestamp: '2025-01-02T00:00:00Z' }),
      [role('a')],
      [server('s')],
      'False/DuplicateRoleName',
      false,
    ],
    [
      'the older of two with the same name',
      role('a'),
      [role('b', { roleName: 'a' }, { creationTimestamp: '2025-01-02T00:00:00Z' })],
      [server('s')],
      'True/Ready',
      true,
    ],
    [
      'same name on disjoint workloads',
      role(
        'b',
        { roleName: 'a', workloadSelector: { matchLabels: { app: 'x' } } },
        { creationTimestamp: '2025-01-02T00:00:00Z' },
      ),
      [role('a', { workloadSelector: { matchLabels: { app: 'y' } } })],
      [server('s')],
      'True/Ready',
      true,
    ],
    ['no server in the namespace', role('a'), [], [], 'False/NoAuthorizationServer', true],
    [
      'only servers for other workloads',
      role('a', { workloadSelector: { matchLabels: { app: 'x' } } }),
      [],
      [server('s', { workloadSelector: { matchLabels: { app: 'y' } } })],
      'False/NoAuthorizationServer',
      true,
    ],
    [
      'a name that cannot be a role name',
      role('x'.repeat(70)),
      [],
      [server('s')],
      'False/InvalidRoleName',
      false,
    ],
  ])('%s', (_name, resource, peers, servers, ready, effective) => {
    const d = decideApiRole({
      role: resource,
      peers: [resource, ...peers],
      effectiveServers: servers,
      tenant: TENANT,
      sidecars,
      now,
    });
    const c = d.status.conditions?.[0];
    expect(`${c?.status}/${c?.reason}`).toBe(ready);
    expect(d.effective).toBe(effective);
  });

  it('tells the user what to do about a duplicate', () => {
    const b = role('b', { roleName: 'a' }, { creationTimestamp: '2025-01-02T00:00:00Z' });
    const d = decideApiRole({
      role: b,
      peers: [role('a'), b],
      effectiveServers: [server('s')],
      tenant: TENANT,
      sidecars,
      now,
    });
    expect(d.status.conditions?.[0]?.message).toMatch(
      /already defined by ApiRole 'a' in namespace team-a.*Set a different spec.roleName/,
    );
    expect(d.status.sidecars).toEqual({ selected: 0, current: 0 });
  });

  it('explains a missing server with the scope to configure', () => {
    const d = decideApiRole({
      role: role('a'),
      peers: [],
      effectiveServers: [],
      tenant: TENANT,
      sidecars,
      now,
    });
    expect(d.status.conditions?.[0]?.message).toContain(
      'Create an AuthorizationServer for the identity provider that issues scope acme::1234::a',
    );
  });
});
