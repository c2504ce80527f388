import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Counter, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type Prometheus } from '../../support/prometheus.js';

describe('prometheus (the real binary)', () => {
  const registry = new Registry();
  const requests = new Counter({
    name: 'harness_requests_total',
    help: 'test counter',
    labelNames: ['decision'],
    registers: [registry],
  });
  let metrics: http.Server;
  let prom: Prometheus;
  let rulesDir: string;

  beforeAll(async () => {
    metrics = http.createServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
    });
    await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.2', resolve));
    const { port } = metrics.address() as AddressInfo;
    rulesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'harness-rules-'));
    const rules = path.join(rulesDir, 'rules.yml');
    fs.writeFileSync(
      rules,
      'groups:\n- name: harness\n  rules:\n  - record: harness:denies\n    expr: sum(harness_requests_total{decision="deny"})\n',
    );
    requests.inc({ decision: 'deny' }, 3);
    prom = await startPrometheus({
      targets: [{ job: 'harness', url: `http://127.0.0.2:${port}/metrics`, labels: { pod: 'harness-pod' } }],
      ruleFiles: [rules],
    });
  });
  afterAll(async () => {
    await prom?.stop();
    metrics?.close();
    fs.rmSync(rulesDir, { recursive: true, force: true });
  });

  it('listens on a free loopback port, never 9090', () => {
    expect(prom.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(prom.url).not.toMatch(/:9090$/);
  });

  it('scrapes the target and answers queries with its values', async () => {
    const v = await prom.waitFor('harness_requests_total{decision="deny"}', (s) => s[0]?.value === 3);
    expect(v[0]!.metric).toMatchObject({
      job: 'harness',
      pod: 'harness-pod',
      instance: expect.stringMatching(/^127\.0\.0\.2:/),
    });
    requests.inc({ decision: 'deny' }, 2);
    await prom.waitFor('harness_requests_total{decision="deny"}', (s) => s[0]?.value === 5);
    expect(await prom.query('scalar(harness_requests_total{decision="deny"}) * 2')).toEqual([
      { metric: {}, value: 10 },
    ]);
    expect((await prom.targets())[0]).toMatchObject({ job: 'harness', health: 'up' });
  });

  it('evaluates rule files', async () => {
    await prom.waitFor('harness:denies', (s) => (s[0]?.value ?? 0) >= 3);
    expect(await prom.rules()).toEqual([
      { group: 'harness', name: 'harness:denies', type: 'recording', health: 'ok' },
    ]);
  });

  it('stops and removes its directory', async () => {
    const p = await startPrometheus({ targets: [] });
    await p.stop();
    expect(fs.existsSync(p.dir)).toBe(false);
    await expect(p.query('up')).rejects.toThrow();
  });
});
