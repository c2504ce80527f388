import pino from 'pino';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Timers } from '../../../operator/src/kube/timers.js';
import {
  FileCertificates,
  SelfManagedCertificates,
} from '../../../operator/src/webhook/certificate-sources.js';
import {
  applyCertificatePlan,
  type KeyPairPem,
  type WebhookTlsMaterial,
} from '../../../operator/src/webhook/certificates.js';
import type { StoredTlsMaterial, TlsSecretStore } from '../../../operator/src/webhook/tls-secret-store.js';

const NOW = new Date('2026-03-01T00:00:00Z');
const HOSTS = ['scopegate-webhook.scopegate-system.svc'];
const logger = pino({ level: 'silent' });

const manualTimers = (): Timers => ({
  now: () => NOW.getTime(),
  setTimeout: () => 0,
  clearTimeout: () => undefined,
});

class MemoryStore implements TlsSecretStore {
  writes: { material: WebhookTlsMaterial; resourceVersion: string | undefined }[] = [];
  conflict = false;
  constructor(public stored: StoredTlsMaterial = { material: undefined, resourceVersion: undefined }) {}
  async read() {
    return this.stored;
  }
  async write(material: WebhookTlsMaterial, resourceVersion: string | undefined) {
    if (this.conflict) throw new Error('409 Conflict');
    this.writes.push({ material, resourceVersion });
    this.stored = { material, resourceVersion: String(Number(resourceVersion ?? 0) + 1) };
  }
}

function setup(options: { leader: boolean; stored?: StoredTlsMaterial }) {
  const store = new MemoryStore(options.stored);
  const ensure = vi.fn(async (_bundle: string) => 1);
  const served: KeyPairPem[] = [];
  const source = new SelfManagedCertificates(
    { hosts: HOSTS, caCommonName: 'ca', checkIntervalMs: 60_000 },
    {
      store,
      caBundleTarget: { ensure },
      isLeader: () => options.leader,
      now: () => NOW,
      timers: manualTimers(),
      logger,
      onCertificate: (pair) => served.push(pair),
    },
  );
  return { store, ensure, served, source };
}

describe('SelfManagedCertificates', () => {
  let existing: WebhookTlsMaterial;
  beforeAll(async () => {
    existing = await applyCertificatePlan({ action: 'create', reason: 'test' }, undefined, HOSTS, NOW, 'ca');
  });

  it('the leader creates the Secret, trusts the new CA, then serves', async () => {
    const { store, ensure, served, source } = setup({ leader: true });
    await source.runRound();
    expect(store.writes).toHaveLength(1);
    expect(store.writes[0]?.resourceVersion).toBeUndefined();
    const written = store.writes[0]?.material;
    expect(ensure).toHaveBeenCalledWith(written?.caBundle);
    expect(served).toEqual([written?.serving]);
  });

  it('a follower without a Secret waits and writes nothing', async () => {
    const { store, ensure, served, source } = setup({ leader: false });
    await source.runRound();
    expect(store.writes).toEqual([]);
    expect(ensure).not.toHaveBeenCalled();
    expect(served).toEqual([]);
  });

  it('a follower serves what the Secret holds, once per certificate', async () => {
    const { ensure, served, source } = setup({
      leader: false,
      stored: { material: existing, resourceVersion: '7' },
    });
    await source.runRound();
    await source.runRound();
    expect(served).toEqual([existing.serving]);
    expect(ensure).not.toHaveBeenCalled();
  });

  it('the leader re-asserts the caBundle every round (a helm upgrade or a person may reset it) but writes nothing while fresh', async () => {
    const { store, ensure, source } = setup({
      leader: true,
      stored: { material: existing, resourceVersion: '7' },
    });
    await source.runRound();
    expect(ensure).toHaveBeenCalledWith(existing.caBundle);
    expect(store.writes).toEqual([]);
  });

  it('serves a first certificate even when the webhook configuration cannot be patched yet', async () => {
    const { store, ensure, served, source } = setup({ leader: true });
    ensure.mockRejectedValue(new Error('404 NotFound'));
    await source.runRound();
    expect(store.writes).toHaveLength(1);
    expect(served).toEqual([store.writes[0]?.material.serving]);
  });

  it('takes no step while the stored CA bundle cannot be made trusted', async () => {
    const due = { ...existing, serving: { ...existing.serving, keyPem: existing.ca.keyPem } };
    const { store, ensure, source } = setup({
      leader: true,
      stored: { material: due, resourceVersion: '7' },
    });
    ensure.mockRejectedValue(new Error('503'));
    await source.runRound();
    expect(store.writes).toEqual([]);
  });

  it('updates with the resourceVersion it read, so a concurrent writer wins and nothing unsaved is served', async () => {
    const stale = { ...existing, serving: { ...existing.serving, keyPem: existing.ca.keyPem } };
    const { store, served, source } = setup({
      leader: true,
      stored: { material: stale, resourceVersion: '7' },
    });
    store.conflict = true;
    await expect(source.runRound()).rejects.toThrow('409');
    expect(served).toEqual([]);
    store.conflict = false;
    await source.runRound();
    expect(store.writes[0]?.resourceVersion).toBe('7');
    expect(served).toEqual([store.writes[0]?.material.serving]);
  });
});

describe('FileCertificates', () => {
  let pair: KeyPairPem;
  let other: KeyPairPem;
  beforeAll(async () => {
    pair = (await applyCertificatePlan({ action: 'create', reason: 't' }, undefined, HOSTS, NOW, 'ca'))
      .serving;
    other = (await applyCertificatePlan({ action: 'create', reason: 't' }, undefined, HOSTS, NOW, 'ca'))
      .serving;
  });

  function setupFiles(files: Record<string, string>) {
    const served: KeyPairPem[] = [];
    const source = new FileCertificates(
      { directory: '/certs', reloadIntervalMs: 1000 },
      {
        timers: manualTimers(),
        logger,
        onCertificate: (p) => served.push(p),
        readText: async (path) => {
          const text = files[path];
          if (text === undefined) throw new Error(`ENOENT: ${path}`);
          return text;
        },
      },
    );
    return { served, source };
  }

  it('loads tls.crt and tls.key and reloads only when they change', async () => {
    const files = { '/certs/tls.crt': pair.certPem, '/certs/tls.key': pair.keyPem };
    const { served, source } = setupFiles(files);
    await source.reload();
    await source.reload();
    expect(served).toEqual([pair]);
    files['/certs/tls.crt'] = other.certPem;
    files['/certs/tls.key'] = other.keyPem;
    await source.reload();
    expect(served).toEqual([pair, other]);
  });

  it('skips a half-swapped pair (certificate and key do not match)', async () => {
    const { served, source } = setupFiles({ '/certs/tls.crt': other.certPem, '/certs/tls.key': pair.keyPem });
    await expect(source.reload()).rejects.toThrow('do not match');
    expect(served).toEqual([]);
  });

  it('waits for files that are not there yet', async () => {
    const { source } = setupFiles({});
    await expect(source.reload()).rejects.toThrow('ENOENT');
  });
});
