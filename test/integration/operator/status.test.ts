/**
 * The operator against a real kube-apiserver: statuses of AuthorizationServer and ApiRole, the
 * conditions' reasons and messages, Events, and key fetching from real HTTPS JWKS servers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../../operator/src/kube/client.js';
import type { RunningOperator } from '../../../operator/src/main.js';
import {
  applyCrds,
  condition,
  createResource,
  deleteResource,
  freshNamespaces,
  eventually,
  getResource,
  kubeClient,
  newRsaKey,
  operatorOptions,
  patchSpec,
  startJwksServer,
  startTestOperator,
  waitForCondition,
  type JwksServer,
  type SigningKeyPair,
} from './harness.js';

const NS = 'sg-status-a';
const NS_EMPTY = 'sg-status-b';
const SYSTEM = 'sg-status-system';
const ROLE_SPEC = { permissions: [{ name: 'read', paths: ['/v1/**'], access: 'ViewOnly' }] };

let client: KubeClient;
let operator: RunningOperator;
let jwks: JwksServer;
let key1: SigningKeyPair;

const refresh = (server: string, kid = 'unknown-kid') =>
  fetch(`http://127.0.0.1:${operator.httpAddress.port}/v1/keys/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ namespace: NS, server, kid }),
  });

beforeAll(async () => {
  client = await kubeClient();
  await applyCrds();
  await freshNamespaces(client, [NS, NS_EMPTY, SYSTEM]);
  key1 = await newRsaKey('key-1');
  jwks = await startJwksServer('127.0.0.11', [key1.jwk]);
  operator = await startTestOperator(
    operatorOptions({ namespaces: [NS, NS_EMPTY], operatorNamespace: SYSTEM }),
  );
});

afterAll(async () => {
  await operator?.stop();
  await jwks?.close();
  client?.close();
});

describe('AuthorizationServer status', () => {
  it('fetches the keys over HTTPS with the caBundle and reports them', async () => {
    await createResource(client, 'AuthorizationServer', NS, 'okta', {
      provider: 'Okta',
      issuer: 'https://okta.example/oauth2/default',
      jwks: { uri: jwks.uri, caBundle: jwks.ca.caPem },
    });
    const r = await waitForCondition(client, 'AuthorizationServer', NS, 'okta', 'Ready', {
      status: 'True',
      reason: 'Ready',
    });
    expect(condition(r, 'KeysFetched')).toMatchObject({
      status: 'True',
      reason: 'Fetched',
      observedGeneration: 1,
    });
    expect(r.status).toMatchObject({ keyIds: ['key-1'], keyCount: 1, observedGeneration: 1 });
    expect(r.status?.['lastSuccessfulFetchTime']).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('says the TLS trust is wrong when the caBundle is missing, and records an Event', async () => {
    await createResource(client, 'AuthorizationServer', NS, 'no-ca', {
      provider: 'Generic',
      issuer: 'https://no-ca.example',
      jwks: { uri: jwks.uri },
    });
    const r = await waitForCondition(client, 'AuthorizationServer', NS, 'no-ca', 'Ready', {
      status: 'False',
      reason: 'KeysUnavailable',
    });
    const keys = condition(r, 'KeysFetched');
    expect(keys).toMatchObject({ status: 'False', reason: 'TlsError' });
    expect(keys?.message).toContain('set jwks.caBundle');
    const events = await eventually('a TlsError event', async () => {
      const list = await client.request<{
        items: { reason: string; regarding: { name: string }; type: string }[];
      }>('GET', `/apis/events.k8s.io/v1/namespaces/${NS}/events`);
      const found = list.items.filter((e) => e.regarding.name === 'no-ca' && e.reason === 'TlsError');
      return found.length > 0 ? found : undefined;
    });
    expect(events[0]!.type).toBe('Warning');
  });

  it('refuses a key set that publishes private keys', async () => {
    const leaky = await startJwksServer('127.0.0.12', [key1.jwk], jwks.ca);
    leaky.mode = 'private';
    try {
      await createResource(client, 'AuthorizationServer', NS, 'leaky', {
        provider: 'Generic',
        issuer: 'https://leaky.example',
        jwks: { uri: leaky.uri, caBundle: leaky.ca.caPem },
      });
      const r = await waitForCondition(client, 'AuthorizationServer', NS, 'leaky', 'KeysFetched', {
        status: 'False',
        reason: 'PrivateKeyInKeySet',
      });
      expect(condition(r, 'KeysFetched')?.message).toContain('must be rotated');
      expect(JSON.stringify(r.status)).not.toContain('c2VjcmV0');
    } finally {
      await leaky.close();
      await deleteResource(client, 'AuthorizationServer', NS, 'leaky');
    }
  });

  it('marks the newer of two servers with the same issuer as a duplicate, naming the other', async () => {
    await createResource(client, 'AuthorizationServer', NS, 'okta-copy', {
      provider: 'Okta',
      issuer: 'https://okta.example/oauth2/default',
      jwks: { inline: { keys: [key1.jwk] } },
    });
    const r = await waitForCondition(client, 'AuthorizationServer', NS, 'okta-copy', 'Ready', {
      status: 'False',
      reason: 'DuplicateIssuer',
    });
    expect(condition(r, 'Ready')?.message).toContain("AuthorizationServer 'okta'");
    // the original keeps working
    expect(condition(await getResource(client, 'AuthorizationServer', NS, 'okta'), 'Ready')?.status).toBe(
      'True',
    );
    await deleteResource(client, 'AuthorizationServer', NS, 'okta-copy');
  });

  it('flags keys that cannot verify the allowed algorithms', async () => {
    await createResource(client, 'AuthorizationServer', NS, 'wrong-alg', {
      provider: 'Generic',
      issuer: 'https://wrong-alg.example',
      allowedAlgorithms: ['ES256'],
      jwks: { inline: { keys: [key1.jwk] } },
    });
    const r = await waitForCondition(client, 'AuthorizationServer', NS, 'wrong-alg', 'Ready', {
      status: 'False',
      reason: 'NoKeyForAlgorithms',
    });
    expect(condition(r, 'Ready')?.message).toMatch(/RSA.*ES256/);
    await patchSpec(client, 'AuthorizationServer', NS, 'wrong-alg', { allowedAlgorithms: ['RS256'] });
    const fixed = await waitForCondition(client, 'AuthorizationServer', NS, 'wrong-alg', 'Ready', {
      status: 'True',
    });
    expect(condition(fixed, 'Ready')?.observedGeneration).toBe(2);
    await deleteResource(client, 'AuthorizationServer', NS, 'wrong-alg');
  });

  it('keeps the last good keys while the identity provider is down, and recovers', async () => {
    jwks.mode = 'down';
    // At most one refetch per second per server: the first ask may be rate-limited.
    await eventually('a refetch to be accepted', async () => (await refresh('okta')).status === 202);
    const down = await waitForCondition(client, 'AuthorizationServer', NS, 'okta', 'KeysFetched', {
      status: 'False',
      reason: 'HttpError',
    });
    expect(condition(down, 'KeysFetched')?.message).toMatch(/HTTP 503.*keep trusting the 1 key\(s\)/);
    expect(condition(down, 'Ready')?.status).toBe('True');
    expect(down.status).toMatchObject({ keyIds: ['key-1'], keyCount: 1 });

    jwks.mode = 'up';
    const key2 = await newRsaKey('key-2');
    jwks.keys = [key1.jwk, key2.jwk];
    await eventually(
      'the refresh to be accepted again',
      async () => (await refresh('okta', 'key-2')).status === 202,
    );
    const up = await waitForCondition(client, 'AuthorizationServer', NS, 'okta', 'KeysFetched', {
      status: 'True',
      reason: 'Fetched',
    });
    expect(up.status).toMatchObject({ keyIds: ['key-1', 'key-2'], keyCount: 2 });
  });

  it('defers refresh requests inside the rate limit (202) and answers unknown servers with 404', async () => {
    const first = await refresh('okta');
    const second = await refresh('okta');
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(['accepted', 'scheduled']).toContain(((await first.json()) as { result: string }).result);
    // A fetch ran (or started) a moment ago: the second ask is deferred to the end of the window, not dropped.
    expect(((await second.json()) as { result: string }).result).toBe('scheduled');
    expect((await refresh('nope')).status).toBe(404);
    const bad = await fetch(`http://127.0.0.1:${operator.httpAddress.port}/v1/keys/refresh`, {
      method: 'POST',
      body: 'x',
    });
    expect(bad.status).toBe(400);
  });

  it('reports a disabled server as such', async () => {
    await createResource(client, 'AuthorizationServer', NS, 'off', {
      enabled: false,
      provider: 'Generic',
      issuer: 'https://off.example',
      jwks: { uri: jwks.uri, caBundle: jwks.ca.caPem },
    });
    const r = await waitForCondition(client, 'AuthorizationServer', NS, 'off', 'Ready', {
      status: 'False',
      reason: 'Disabled',
    });
    expect(r.status?.['keyCount']).toBeUndefined();
    await deleteResource(client, 'AuthorizationServer', NS, 'off');
  });
});

describe('ApiRole status', () => {
  it('publishes the scope and admin ID to configure in the identity provider', async () => {
    await createResource(client, 'ApiRole', NS, 'reader', ROLE_SPEC);
    const r = await waitForCondition(client, 'ApiRole', NS, 'reader', 'Ready', {
      status: 'True',
      reason: 'Ready',
    });
    expect(r.status).toMatchObject({
      roleName: 'reader',
      scope: 'acme::1234::reader',
      adminId: 'oauth-reader$@1234.acme.example',
      sidecars: { selected: 0, current: 0 },
      observedGeneration: 1,
    });
  });

  it('uses spec.roleName and follows changes to it', async () => {
    await patchSpec(client, 'ApiRole', NS, 'reader', { roleName: 'Reader.V2' });
    const r = await eventually('the new scope', async () => {
      const x = await getResource(client, 'ApiRole', NS, 'reader');
      return x.status?.['scope'] === 'acme::1234::Reader.V2' ? x : undefined;
    });
    expect(condition(r, 'Ready')?.observedGeneration).toBe(2);
  });

  it('flags a second role with the same role name, with a message a person can act on', async () => {
    await createResource(client, 'ApiRole', NS, 'reader-copy', { ...ROLE_SPEC, roleName: 'Reader.V2' });
    const r = await waitForCondition(client, 'ApiRole', NS, 'reader-copy', 'Ready', {
      status: 'False',
      reason: 'DuplicateRoleName',
    });
    expect(condition(r, 'Ready')?.message).toContain("already defined by ApiRole 'reader'");
    expect(condition(r, 'Ready')?.message).toContain('Set a different spec.roleName');
    await patchSpec(client, 'ApiRole', NS, 'reader-copy', { roleName: 'Reader.V3' });
    await waitForCondition(client, 'ApiRole', NS, 'reader-copy', 'Ready', { status: 'True' });
    await deleteResource(client, 'ApiRole', NS, 'reader-copy');
  });

  it('says a role is unusable in a namespace that trusts no server, and recovers when one appears', async () => {
    await createResource(client, 'ApiRole', NS_EMPTY, 'lonely', ROLE_SPEC);
    const r = await waitForCondition(client, 'ApiRole', NS_EMPTY, 'lonely', 'Ready', {
      status: 'False',
      reason: 'NoAuthorizationServer',
    });
    expect(condition(r, 'Ready')?.message).toContain('Create an AuthorizationServer');
    await createResource(client, 'AuthorizationServer', NS_EMPTY, 'inline', {
      provider: 'Generic',
      issuer: 'https://inline.example',
      jwks: { inline: { keys: [key1.jwk] } },
    });
    await waitForCondition(client, 'ApiRole', NS_EMPTY, 'lonely', 'Ready', { status: 'True' });
  });

  it('writes status only when it changes', async () => {
    const before = await getResource(client, 'ApiRole', NS, 'reader');
    await new Promise((r) => setTimeout(r, 2500));
    const after = await getResource(client, 'ApiRole', NS, 'reader');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });
});
