import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  covers,
  findInjectedSidecar,
  injectSidecar,
  isOptedIn,
} from '../../../operator/src/webhook/inject.js';
import { createJsonPatch } from '../../../operator/src/webhook/json-patch.js';
import { appContainer, applyJsonPatch, pod, SETTINGS } from './fixtures.js';

const GOLDEN = new URL('./golden/inject-basic.patch.json', import.meta.url);

function injected(input = pod()) {
  const result = injectSidecar(input, undefined, SETTINGS);
  if (!('pod' in result)) throw new Error(`unexpected error: ${result.error.message}`);
  return result.pod;
}

describe('injectSidecar', () => {
  it('produces the golden JSONPatch for a basic opted-in pod', () => {
    const input = pod();
    const patch = createJsonPatch(input, injected(input));
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(GOLDEN)) {
      writeFileSync(GOLDEN, `${JSON.stringify(patch, null, 2)}\n`);
    }
    expect(patch).toEqual(JSON.parse(readFileSync(GOLDEN, 'utf8')));
  });

  it('adds a hardened sidecar container with the ports, probes, args and key', () => {
    const sidecar = injected().spec?.containers.find((c) => c.name === 'scopegate-sidecar');
    expect(sidecar).toBeDefined();
    expect(sidecar?.args).toEqual([
      'sidecar',
      '--config-public-key',
      '/etc/scopegate/config-public-key.pem',
      '--config-dir',
      '/var/run/scopegate',
      '--upstream',
      'http://127.0.0.1:8080',
      '--listen',
      '0.0.0.0:15900',
      '--admin',
      '0.0.0.0:15901',
      '--operator-url',
      'http://scopegate.scopegate-system.svc:8080',
    ]);
    expect(sidecar?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(sidecar?.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 15901 });
    expect(sidecar?.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 15901 });
    expect(sidecar?.env).toBeUndefined();
    expect(sidecar?.resources).toEqual(SETTINGS.resources);
    expect(sidecar?.volumeMounts).toEqual([
      { name: 'scopegate-config', mountPath: '/var/run/scopegate' },
      { name: 'scopegate-config-public-key', mountPath: '/etc/scopegate', readOnly: true },
    ]);
  });

  it('hands the config public key over as a file projected from a pod annotation (no RBAC, nothing at run time)', () => {
    const out = injected();
    expect(out.metadata?.annotations?.['scopegate.io/config-public-key']).toBe(SETTINGS.configPublicKeyPem);
    expect(out.spec?.volumes).toEqual([
      { name: 'scopegate-config', emptyDir: { sizeLimit: '16Mi' } },
      {
        name: 'scopegate-config-public-key',
        downwardAPI: {
          items: [
            {
              path: 'config-public-key.pem',
              fieldRef: { fieldPath: "metadata.annotations['scopegate.io/config-public-key']" },
            },
          ],
        },
      },
    ]);
  });

  it('appends the sidecar after the app containers so kubectl logs still defaults to the app', () => {
    const names = injected().spec?.containers.map((c) => c.name);
    expect(names).toEqual(['app', 'scopegate-sidecar']);
  });

  it('marks the pod with the version annotation and the selector label', () => {
    const out = injected();
    expect(out.metadata?.annotations?.['scopegate.io/injected']).toBe('0.1.0');
    expect(out.metadata?.labels?.['scopegate.io/injected']).toBe('true');
    expect(findInjectedSidecar(out)).toEqual({ adminPort: 15901, listenPort: 15900, version: '0.1.0' });
  });

  it('honours listen and admin port annotations', () => {
    const out = injected(
      pod({
        annotations: {
          'scopegate.io/upstream-port': '3000',
          'scopegate.io/listen-port': '8443',
          'scopegate.io/admin-port': '9901',
        },
      }),
    );
    const sidecar = out.spec?.containers.find((c) => c.name === 'scopegate-sidecar');
    expect(sidecar?.ports?.map((p) => p.containerPort)).toEqual([8443, 9901]);
    expect(sidecar?.args).toContain('http://127.0.0.1:3000');
  });

  it('does not mutate its input', () => {
    const input = pod();
    const before = structuredClone(input);
    injected(input);
    expect(input).toEqual(before);
  });

  describe('is idempotent', () => {
    it('re-injecting an injected pod changes nothing', () => {
      const once = injected();
      expect(createJsonPatch(once, injected(once))).toEqual([]);
    });

    it('a pod recreated from an injected spec with API-server defaults changes nothing', () => {
      const once = injected();
      const defaulted = structuredClone(once);
      const sidecar = defaulted.spec?.containers.find((c) => c.name === 'scopegate-sidecar');
      if (sidecar === undefined) throw new Error('no sidecar');
      sidecar.terminationMessagePath = '/dev/termination-log';
      Object.assign(sidecar.livenessProbe ?? {}, { successThreshold: 1 });
      const keyVolume = defaulted.spec?.volumes?.find((v) => v.name === 'scopegate-config-public-key');
      if (keyVolume?.downwardAPI) keyVolume.downwardAPI.defaultMode = 420;
      expect(createJsonPatch(defaulted, injected(defaulted))).toEqual([]);
    });

    it('a rotated operator key updates the annotation only', () => {
      const once = injected();
      const rotated = injectSidecar(once, undefined, { ...SETTINGS, configPublicKeyPem: 'NEW' });
      expect('pod' in rotated && createJsonPatch(once, rotated.pod)).toEqual([
        { op: 'replace', path: '/metadata/annotations/scopegate.io~1config-public-key', value: 'NEW' },
      ]);
    });

    it('a sidecar from another operator version is replaced in place', () => {
      const stale = injected();
      const sidecar = stale.spec?.containers[1];
      if (sidecar === undefined) throw new Error('no sidecar');
      sidecar.image = 'ghcr.io/scopegate/scopegate:0.0.9';
      const patch = createJsonPatch(stale, injected(stale));
      expect(patch).toEqual([{ op: 'replace', path: '/spec/containers/1/image', value: SETTINGS.image }]);
    });
  });

  describe('opt-in', () => {
    it.each([
      { podLabel: 'true', nsLabel: undefined, expected: true },
      { podLabel: undefined, nsLabel: 'true', expected: true },
      { podLabel: 'false', nsLabel: 'true', expected: false },
      { podLabel: undefined, nsLabel: undefined, expected: false },
      { podLabel: 'yes', nsLabel: undefined, expected: false },
    ])('pod label $podLabel, namespace label $nsLabel → $expected', ({ podLabel, nsLabel, expected }) => {
      const podLabels: Record<string, string> =
        podLabel === undefined ? {} : { 'scopegate.io/inject': podLabel };
      const nsLabels: Record<string, string> =
        nsLabel === undefined ? {} : { 'scopegate.io/inject': nsLabel };
      expect(isOptedIn(podLabels, nsLabels)).toBe(expected);
    });

    it('treats unknown namespace labels as opted in (the webhook selectors already chose the pod)', () => {
      expect(isOptedIn({}, undefined)).toBe(true);
      expect(isOptedIn({ 'scopegate.io/inject': 'false' }, undefined)).toBe(false);
    });

    it('skips pods that are not opted in, unchanged', () => {
      const input = pod({ labels: { app: 'orders' } });
      const result = injectSidecar(input, {}, SETTINGS);
      expect(result).toMatchObject({ pod: input, skipped: expect.stringContaining('not opted in') });
    });

    it('skips pods in excluded namespaces even when labelled', () => {
      const result = injectSidecar(pod({ namespace: 'kube-system' }), undefined, SETTINGS);
      expect(result).toMatchObject({ skipped: 'namespace kube-system is excluded from injection' });
    });

    it('takes the namespace from the admission request when the pod has none yet', () => {
      const input = pod();
      delete input.metadata?.namespace;
      expect(injectSidecar(input, undefined, SETTINGS, 'scopegate-system')).toMatchObject({
        skipped: expect.any(String),
      });
    });
  });

  describe('rejects what cannot be protected, saying what to fix', () => {
    const annotations = (extra: Record<string, string>) => ({
      'scopegate.io/upstream-port': '8080',
      ...extra,
    });
    it.each<{ name: string; annotations: Record<string, string>; message: string }>([
      {
        name: 'missing upstream port',
        annotations: {},
        message: 'set the annotation scopegate.io/upstream-port to the port your app listens on',
      },
      {
        name: 'non-numeric port',
        annotations: { 'scopegate.io/upstream-port': 'http' },
        message: 'annotation scopegate.io/upstream-port must be a port number from 1 to 65535, not "http"',
      },
      {
        name: 'port out of range',
        annotations: annotations({ 'scopegate.io/listen-port': '70000' }),
        message: 'scopegate.io/listen-port must be a port number from 1 to 65535, not "70000"',
      },
      {
        name: 'port zero',
        annotations: annotations({ 'scopegate.io/admin-port': '0' }),
        message: 'scopegate.io/admin-port must be a port number from 1 to 65535, not "0"',
      },
      {
        name: 'signed port',
        annotations: annotations({ 'scopegate.io/admin-port': '+9000' }),
        message: 'not "+9000"',
      },
      {
        name: 'listen equals upstream',
        annotations: annotations({ 'scopegate.io/listen-port': '8080' }),
        message: "the sidecar's listen port 8080 equals the app's port",
      },
      {
        name: 'admin equals upstream',
        annotations: { 'scopegate.io/upstream-port': '15901' },
        message: "scopegate.io/admin-port 15901 equals the app's port",
      },
      {
        name: 'admin equals listen',
        annotations: annotations({ 'scopegate.io/admin-port': '15900' }),
        message: 'scopegate.io/admin-port and scopegate.io/listen-port are both 15900; they must differ',
      },
      {
        name: 'bad forward-authorization',
        annotations: annotations({ 'scopegate.io/forward-authorization': 'yes' }),
        message: 'scopegate.io/forward-authorization must be "true" or "false", not "yes"',
      },
    ])('$name', ({ annotations, message }) => {
      const result = injectSidecar(pod({ annotations }), undefined, SETTINGS);
      expect(result).toMatchObject({ error: { code: 'ERR_INJECT_INVALID_ANNOTATIONS' } });
      if (!('error' in result)) return;
      expect(result.error.message).toContain(
        'scopegate cannot inject its sidecar into pod shop/orders-7d9f: ',
      );
      expect(result.error.message).toContain(message);
    });

    it('a port another container declares', () => {
      const containers = [
        appContainer(),
        { name: 'metrics', image: 'exporter', ports: [{ containerPort: 15901 }] },
      ];
      const result = injectSidecar(pod({ containers }), undefined, SETTINGS);
      expect(result).toMatchObject({
        error: {
          message: expect.stringContaining(
            'port 15901 (scopegate.io/admin-port) is already used by container "metrics"; set scopegate.io/admin-port to a free port',
          ),
        },
      });
    });

    it('reports every problem at once', () => {
      const result = injectSidecar(
        pod({ annotations: { 'scopegate.io/listen-port': 'x', 'scopegate.io/admin-port': '99999' } }),
        undefined,
        SETTINGS,
      );
      expect('error' in result && result.error.message.split('; ')).toHaveLength(3);
    });

    it('hostNetwork pods', () => {
      const input = pod();
      if (input.spec) input.spec.hostNetwork = true;
      expect(injectSidecar(input, undefined, SETTINGS)).toMatchObject({
        error: { code: 'ERR_INJECT_HOST_NETWORK' },
      });
    });

    it('names a generateName pod by its prefix', () => {
      const input = pod({ annotations: {} });
      if (input.metadata) {
        delete input.metadata.name;
        input.metadata.generateName = 'orders-7d9f-';
      }
      const result = injectSidecar(input, undefined, SETTINGS);
      expect('error' in result && result.error.message).toContain('pod shop/orders-7d9f-*');
    });
  });

  it('the patch applies cleanly and yields the injected pod', () => {
    const input = pod({
      labels: { 'scopegate.io/inject': 'true' },
      annotations: { 'scopegate.io/upstream-port': '8080' },
    });
    delete input.metadata?.labels;
    const out = injectSidecar(input, undefined, SETTINGS);
    if (!('pod' in out)) throw new Error('rejected');
    expect(applyJsonPatch(input, createJsonPatch(input, out.pod))).toEqual(out.pod);
  });
});

describe('covers', () => {
  it.each([
    [{ a: 1, b: 2 }, { a: 1 }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [[{ a: 1, x: 0 }], [{ a: 1 }], true],
    [[1, 2], [1], false],
    [{ a: [1] }, { a: [1] }, true],
    ['x', 'x', true],
    [null, {}, false],
  ])('%j covers %j: %s', (actual, wanted, expected) => {
    expect(covers(actual, wanted)).toBe(expected);
  });
});
