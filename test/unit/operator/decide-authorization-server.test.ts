import { describe, expect, it } from 'vitest';
import {
  decideAuthorizationServer,
  keyFitsAlgorithm,
} from '../../../operator/src/controllers/authorization-server/decide.js';
import type { KeyState } from '../../../operator/src/jwks/key-store.js';
import { EC_KEY, RSA_KEY, server } from './builders.js';

const now = new Date('2025-02-01T10:00:00Z');
const fetchedAt = new Date('2025-02-01T09:00:00Z');
const source = {
  uid: 'uid-a',
  issuer: 'https://idp.example/a',
  uri: 'https://idp.example/a/keys',
  refreshIntervalMs: 3600_000,
};
const good: KeyState = { source, keys: [RSA_KEY], fetchedAt, dropped: [], failures: 0, attempted: true };
const failing: KeyState = {
  ...good,
  lastError: {
    reason: 'FetchFailed',
    message: 'could not fetch https://idp.example/a/keys: ECONNREFUSED',
    at: now,
  },
  failures: 2,
};
const neverFetched: KeyState = {
  source,
  dropped: [],
  failures: 1,
  attempted: true,
  lastError: { reason: 'TlsError', message: 'TLS failed', at: now },
};
const pending: KeyState = { source, dropped: [], failures: 0, attempted: false };

const conditionsOf = (d: ReturnType<typeof decideAuthorizationServer>) =>
  Object.fromEntries((d.status.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe('decideAuthorizationServer', () => {
  it.each([
    ['fetched keys', server('a'), [], good, { Ready: 'True/Ready', KeysFetched: 'True/Fetched' }, true],
    [
      'fetch failing, last good keys kept',
      server('a'),
      [],
      failing,
      { Ready: 'True/Ready', KeysFetched: 'False/FetchFailed' },
      true,
    ],
    [
      'never fetched',
      server('a'),
      [],
      neverFetched,
      { Ready: 'False/KeysUnavailable', KeysFetched: 'False/TlsError' },
      true,
    ],
    [
      'first fetch pending',
      server('a'),
      [],
      pending,
      { Ready: 'Unknown/Fetching', KeysFetched: 'Unknown/Fetching' },
      true,
    ],
    [
      'disabled',
      server('a', { enabled: false }),
      [],
      undefined,
      { Ready: 'False/Disabled', KeysFetched: 'Unknown/Disabled' },
      false,
    ],
    [
      'inline keys',
      server('a', { jwks: { inline: { keys: [RSA_KEY] } } }),
      [],
      undefined,
      { Ready: 'True/Ready', KeysFetched: 'True/InlineKeys' },
      true,
    ],
    [
      'keys do not fit the algorithms',
      server('a', { jwks: { inline: { keys: [EC_KEY] } } }),
      [],
      undefined,
      { Ready: 'False/NoKeyForAlgorithms', KeysFetched: 'True/InlineKeys' },
      true,
    ],
    [
      'newer duplicate issuer',
      server('b', { issuer: 'https://idp.example/a' }, { creationTimestamp: '2025-01-02T00:00:00Z' }),
      [server('a')],
      good,
      { Ready: 'False/DuplicateIssuer', KeysFetched: 'True/Fetched' },
      false,
    ],
    [
      'older of two with the same issuer wins',
      server('a'),
      [server('b', { issuer: 'https://idp.example/a' }, { creationTimestamp: '2025-01-02T00:00:00Z' })],
      good,
      { Ready: 'True/Ready', KeysFetched: 'True/Fetched' },
      true,
    ],
    [
      'same issuer, disjoint workloads',
      server(
        'b',
        { issuer: 'https://idp.example/a', workloadSelector: { matchLabels: { app: 'x' } } },
        { creationTimestamp: '2025-01-02T00:00:00Z' },
      ),
      [server('a', { workloadSelector: { matchLabels: { app: 'y' } } })],
      good,
      { Ready: 'True/Ready', KeysFetched: 'True/Fetched' },
      true,
    ],
    [
      'same issuer but the older one is disabled',
      server('b', { issuer: 'https://idp.example/a' }, { creationTimestamp: '2025-01-02T00:00:00Z' }),
      [server('a', { enabled: false })],
      good,
      { Ready: 'True/Ready', KeysFetched: 'True/Fetched' },
      true,
    ],
  ])('%s', (_name, resource, peers, keyState, expected, effective) => {
    const decision = decideAuthorizationServer({
      server: resource,
      peers: [resource, ...peers],
      keyState,
      now,
    });
    expect(conditionsOf(decision)).toEqual(expected);
    expect(decision.effective).toBe(effective);
    for (const c of decision.status.conditions ?? []) expect(c.observedGeneration).toBe(1);
  });

  it('names the other server and says what to do in a duplicate', () => {
    const b = server('b', { issuer: 'https://idp.example/a' }, { creationTimestamp: '2025-01-02T00:00:00Z' });
    const d = decideAuthorizationServer({ server: b, peers: [server('a'), b], keyState: good, now });
    expect(d.status.conditions?.[0]?.message).toMatch(
      /already trusted through AuthorizationServer 'a'.*Delete one/,
    );
  });

  it('says which keys are kept while the identity provider is down', () => {
    const d = decideAuthorizationServer({ server: server('a'), peers: [], keyState: failing, now });
    const keys = d.status.conditions?.find((c) => c.type === 'KeysFetched');
    expect(keys?.message).toContain('ECONNREFUSED');
    expect(keys?.message).toContain('keep trusting the 1 key(s) fetched at 2025-02-01T09:00:00Z');
    expect(d.status).toMatchObject({
      keyIds: ['rsa-1'],
      keyCount: 1,
      lastSuccessfulFetchTime: '2025-02-01T09:00:00Z',
      observedGeneration: 1,
    });
  });

  it('keeps lastSuccessfulFetchTime from the status when this process never fetched', () => {
    const resource = server('a');
    resource.status = { lastSuccessfulFetchTime: '2025-01-31T00:00:00Z' };
    const d = decideAuthorizationServer({ server: resource, peers: [], keyState: neverFetched, now });
    expect(d.status.lastSuccessfulFetchTime).toBe('2025-01-31T00:00:00Z');
  });
});

describe('keyFitsAlgorithm', () => {
  it.each([
    [RSA_KEY, 'RS256', true],
    [RSA_KEY, 'PS512', true],
    [RSA_KEY, 'ES256', false],
    [EC_KEY, 'ES256', true],
    [EC_KEY, 'ES384', false],
    [{ ...RSA_KEY, alg: 'RS512' }, 'RS256', false],
    [{ kty: 'OKP', crv: 'Ed25519', x: 'a' }, 'EdDSA', true],
  ] as const)('%j with %s → %s', (key, alg, fits) => expect(keyFitsAlgorithm(key as never, alg)).toBe(fits));
});
