/** Token shapes of each provider (zscaler-spec.md §4), through the whole pipeline. */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../../../crds/src/index.js';
import { decide } from '../../../../sidecar/src/pipeline/decide.js';
import {
  authorizationServer,
  compiledFor,
  makeKey,
  mint,
  NOW,
  request,
  scope,
  type TestKey,
} from '../builders.js';

let key: TestKey;
beforeAll(async () => {
  key = await makeKey('k1');
});

async function outcome(
  provider: Provider,
  issuer: string,
  claims: Record<string, unknown>,
  clientIds?: string[],
) {
  const compiled = await compiledFor([
    {
      resource: authorizationServer('idp', { provider, issuer, ...(clientIds ? { clientIds } : {}) }),
      keys: [key.jwk],
    },
  ]);
  const decision = await decide(compiled, request(await mint(key, { iss: issuer, ...claims })), NOW);
  return { reason: decision.reason, clientId: decision.principal?.clientId };
}

const OKTA = 'https://example.okta.com/oauth2/aus1a2b3c4';
const ENTRA_V1 = 'https://sts.windows.net/00000000-0000-0000-0000-000000000001/';
const ENTRA_V2 = 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0';
const PING = 'https://pf.example.com:9031';

describe('provider claim mappings', () => {
  it.each([
    ['Okta: scp array + cid', 'Okta', OKTA, { scp: [scope('reader')], cid: '0oa1' }, 'allowed', '0oa1'],
    [
      'Okta: scope string is not where Okta puts scopes',
      'Okta',
      OKTA,
      { scope: scope('reader'), cid: '0oa1' },
      'scope_missing',
      '0oa1',
    ],
    [
      'Entra v1: roles + appid',
      'EntraID',
      ENTRA_V1,
      { roles: [scope('reader')], appid: 'app-1', ver: '1.0' },
      'allowed',
      'app-1',
    ],
    [
      'Entra v2: roles + azp',
      'EntraID',
      ENTRA_V2,
      { roles: [scope('reader')], azp: 'app-2', ver: '2.0' },
      'allowed',
      'app-2',
    ],
    [
      'Entra: scp string fallback',
      'EntraID',
      ENTRA_V2,
      { scp: `User.Read ${scope('reader')}`, azp: 'app-2' },
      'allowed',
      'app-2',
    ],
    [
      'Entra: roles wins over scp',
      'EntraID',
      ENTRA_V2,
      { roles: ['Other'], scp: scope('reader'), azp: 'a' },
      'scope_missing',
      'a',
    ],
    [
      'Ping: scp string',
      'PingFederate',
      PING,
      { scp: `openid ${scope('reader')}`, client_id: 'pf' },
      'allowed',
      'pf',
    ],
    [
      'Ping: scope array',
      'PingFederate',
      PING,
      { scope: [scope('reader')], client_id: 'pf' },
      'allowed',
      'pf',
    ],
    ['Generic: scope string', 'Generic', PING, { scope: scope('reader'), client_id: 'g' }, 'allowed', 'g'],
    [
      'Generic: roles array + appid',
      'Generic',
      PING,
      { roles: [scope('reader')], appid: 'g2' },
      'allowed',
      'g2',
    ],
    ['Generic: scp + azp', 'Generic', PING, { scp: [scope('reader')], azp: 'g3' }, 'allowed', 'g3'],
  ] as const)('%s', async (_name, provider, issuer, claims, reason, clientId) => {
    expect(await outcome(provider, issuer, claims)).toEqual({ reason, clientId });
  });

  it('Entra v1 and v2 issuers are distinct servers', async () => {
    expect((await outcome('EntraID', ENTRA_V1, { iss: ENTRA_V2, roles: [scope('reader')] })).reason).toBe(
      'issuer_unknown',
    );
  });

  it('client allow-lists use the provider client claim', async () => {
    expect((await outcome('Okta', OKTA, { scp: [scope('reader')], cid: '0oa1' }, ['0oa1'])).reason).toBe(
      'allowed',
    );
    expect(
      (await outcome('Okta', OKTA, { scp: [scope('reader')], client_id: '0oa1' }, ['0oa1'])).reason,
    ).toBe('client_not_allowed');
    expect(
      (await outcome('EntraID', ENTRA_V1, { roles: [scope('reader')], appid: 'x', azp: 'app' }, ['app']))
        .reason,
    ).toBe('client_not_allowed');
  });

  it('custom claim mappings replace the provider defaults', async () => {
    const compiled = await compiledFor([
      {
        resource: authorizationServer('idp', {
          claimMappings: { scope: ['permissions'], clientId: ['sub'] },
        }),
        keys: [key.jwk],
      },
    ]);
    const ok = await decide(
      compiled,
      request(await mint(key, { permissions: [scope('reader')], sub: 'svc' })),
      NOW,
    );
    expect(ok).toMatchObject({ reason: 'allowed', principal: { clientId: 'svc' } });
    const ignored = await decide(compiled, request(await mint(key, { scope: scope('reader') })), NOW);
    expect(ignored.reason).toBe('scope_missing');
  });
});
