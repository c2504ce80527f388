import { describe, expect, it } from 'vitest';
import { sidecarEndpoint, summarisePod } from '../../../operator/src/push/sidecar-pods.js';

function pod(
  over: {
    annotations?: Record<string, string>;
    ports?: unknown[];
    podIP?: string;
    state?: object;
    native?: boolean;
    deleting?: boolean;
    phase?: string;
  } = {},
) {
  const container = {
    name: 'scopegate-sidecar',
    ports: over.ports ?? [],
    ...(over.native ? { restartPolicy: 'Always' } : {}),
  };
  return {
    metadata: {
      name: 'api-0',
      namespace: 'team-a',
      uid: 'u1',
      resourceVersion: '7',
      labels: { app: 'api' },
      annotations: over.annotations ?? {},
      managedFields: [{ big: true }],
      ...(over.deleting ? { deletionTimestamp: '2025-01-01T00:00:00Z' } : {}),
    },
    spec: over.native
      ? { containers: [{ name: 'app' }], initContainers: [container] }
      : { containers: [{ name: 'app' }, container] },
    status: {
      phase: over.phase ?? 'Running',
      ...(over.podIP === undefined ? { podIP: '10.0.0.7' } : over.podIP ? { podIP: over.podIP } : {}),
      containerStatuses: [
        {
          name: 'scopegate-sidecar',
          restartCount: 2,
          containerID: 'cri://abc',
          state: over.state ?? { running: {} },
        },
      ],
    },
  };
}

describe('summarisePod + sidecarEndpoint', () => {
  it('finds the admin port from the named container port first', () => {
    const e = sidecarEndpoint(
      summarisePod(
        pod({
          ports: [{ name: 'scopegate-admin', containerPort: 16000 }],
          annotations: { 'scopegate.io/admin-port': '17000' },
        }),
      ),
    );
    expect(e).toMatchObject({
      adminUrl: 'http://10.0.0.7:16000',
      namespace: 'team-a',
      name: 'api-0',
      uid: 'u1',
      labels: { app: 'api' },
    });
  });

  it('then from the annotation, then the default 15901', () => {
    expect(
      sidecarEndpoint(summarisePod(pod({ annotations: { 'scopegate.io/admin-port': '17000' } }))),
    ).toMatchObject({ adminUrl: 'http://10.0.0.7:17000' });
    expect(sidecarEndpoint(summarisePod(pod()))).toMatchObject({ adminUrl: 'http://10.0.0.7:15901' });
  });

  it('recognises native sidecars and IPv6 pod IPs', () => {
    expect(sidecarEndpoint(summarisePod(pod({ native: true, podIP: 'fd00::7' })))).toMatchObject({
      adminUrl: 'http://[fd00::7]:15901',
    });
  });

  it('reads forward-authorization and a restart marker', () => {
    const s = summarisePod(pod({ annotations: { 'scopegate.io/forward-authorization': 'true' } }));
    expect(s.forwardAuthorization).toBe(true);
    expect(s.sidecarIncarnation).toBe('2/cri://abc');
    expect(JSON.stringify(s)).not.toContain('managedFields');
  });

  it.each([
    ['no pod IP', pod({ podIP: '' }), 'no pod IP yet'],
    ['being deleted', pod({ deleting: true }), 'being deleted'],
    ['finished', pod({ phase: 'Succeeded' }), 'phase Succeeded'],
    ['sidecar crashed', pod({ state: { waiting: { reason: 'CrashLoopBackOff' } } }), 'sidecar waiting'],
  ])('skips a pod: %s', (_name, raw, why) => {
    expect(sidecarEndpoint(summarisePod(raw))).toEqual({ skip: why });
  });

  it('skips pods without the sidecar container', () => {
    const raw = pod();
    raw.spec.containers = [{ name: 'app' }] as never;
    expect(sidecarEndpoint(summarisePod(raw))).toEqual({ skip: 'no scopegate-sidecar container' });
  });
});
