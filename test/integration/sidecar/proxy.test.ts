/**
 * The proxy leg with real sockets: 502 and 504 as JSON, bodies streamed both ways without
 * buffering, graceful shutdown of the real process draining an in-flight request, and the real
 * /metrics output accepted by `promtool check metrics`.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './support/build.js';
import { bearer, send } from './support/client.js';
import { startInProcess, until, type InProcessSidecar } from './support/in-process.js';
import { resourcesYaml } from './support/resources.js';
import { startSidecarProcess } from './support/sidecar-process.js';
import { CLOUD, mint, ORG, scope, signingKey, type SigningKey } from './support/tokens.js';
import { freePort, startUpstream, type TestUpstream } from './support/upstream.js';

let dir: string;
let resources: string;
let upstream: TestUpstream;
let key: SigningKey;
let writer: string;

beforeAll(async () => {
  await ensureBuilt();
  key = await signingKey('k1');
  upstream = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), 'scopegate-proxy-'));
  resources = join(dir, 'resources.yaml');
  await writeFile(resources, resourcesYaml({ inlineKeys: [key.publicJwk] }));
  writer = await mint(key, [scope('writer')]);
});

afterAll(async () => {
  await upstream?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('upstream failures', () => {
  let sidecar: InProcessSidecar;
  afterAll(async () => {
    await sidecar?.close();
  });

  it('answers 502 upstream_unavailable when nothing listens upstream', async () => {
    sidecar = await startInProcess({ upstream: `http://127.0.0.1:${await freePort()}`, resources });
    const res = await send(sidecar.listenUrl, { path: '/orders/1', headers: bearer(writer) });
    expect(res.status).toBe(502);
    expect(res.json).toEqual({ code: 'upstream_unavailable', message: expect.any(String) });
    await sidecar.close();
  });

  it('answers 504 upstream_timeout when the app does not answer in time', async () => {
    sidecar = await startInProcess({ upstream: upstream.url, resources, upstreamTimeoutMs: 500 });
    const started = Date.now();
    const res = await send(sidecar.listenUrl, { path: '/hang', headers: bearer(writer) });
    expect(res.status).toBe(504);
    expect(res.json).toEqual({ code: 'upstream_timeout', message: expect.any(String) });
    expect(Date.now() - started).toBeLessThan(3000);
    const metrics = (await send(sidecar.adminUrl, { path: '/metrics' })).body;
    expect(metrics).toContain('scopegate_sidecar_upstream_errors_total{kind="timeout"} 1');
  });
});

describe('streaming', () => {
  let sidecar: InProcessSidecar;
  beforeAll(async () => {
    sidecar = await startInProcess({ upstream: upstream.url, resources });
  });
  afterAll(async () => {
    await sidecar?.close();
  });

  it('streams a request body: the app receives data before the client has finished sending', async () => {
    const target = new URL(sidecar.listenUrl);
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const result = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: 'PUT',
          path: '/upload',
          headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/octet-stream' },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      // First megabyte, then wait until the app has seen the request, then 63 more (64 MiB in all).
      req.write(chunk);
      void until(() => upstream.seen.some((s) => s.url === '/upload') || undefined).then(async () => {
        for (let i = 1; i < 64; i++) {
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      }, reject);
    });
    const { status, body } = await result;
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ bytes: 64 * 1024 * 1024 });
  });

  it('streams a 64 MiB response body', async () => {
    const target = new URL(sidecar.listenUrl);
    const bytes = await new Promise<number>((resolve, reject) => {
      http
        .get(
          {
            host: target.hostname,
            port: target.port,
            path: `/download/${64 * 1024 * 1024}`,
            headers: { authorization: `Bearer ${writer}` },
          },
          (res) => {
            let total = 0;
            res.on('data', (c: Buffer) => (total += c.length));
            res.on('end', () => resolve(total));
          },
        )
        .on('error', reject);
    });
    expect(bytes).toBe(64 * 1024 * 1024);
  });
});

describe('forwarding the Authorization header', () => {
  it('passes it to the app only when configured', async () => {
    const sidecar = await startInProcess({ upstream: upstream.url, resources, forwardAuthorization: true });
    try {
      expect((await send(sidecar.listenUrl, { path: '/orders/7', headers: bearer(writer) })).status).toBe(
        200,
      );
      const seen = upstream.seen.at(-1)!;
      expect(seen.url).toBe('/orders/7');
      expect(seen.headers['authorization']).toBe(`Bearer ${writer}`);
      expect(seen.headers['x-scopegate-roles']).toBe('writer');
    } finally {
      await sidecar.close();
    }
  });
});

describe('the real process', () => {
  it('drains an in-flight request on SIGTERM and exits 0; its /metrics pass promtool check metrics', async () => {
    const sidecar = await startSidecarProcess([
      '--resources',
      resources,
      '--cloud',
      CLOUD,
      '--org-id',
      ORG,
      '--upstream',
      upstream.url,
      '--listen',
      '127.0.0.1:0',
      '--admin',
      '127.0.0.1:0',
      '--audit-log',
      join(dir, 'audit.jsonl'),
    ]);
    // Some traffic first, so the metrics have series to check.
    expect((await send(sidecar.listenUrl, { path: '/orders/1', headers: bearer(writer) })).status).toBe(200);
    expect((await send(sidecar.listenUrl, { path: '/orders/1' })).status).toBe(401);
    const metrics = await send(sidecar.adminUrl, { path: '/metrics' });
    expect(metrics.status).toBe(200);
    const promtool = await promisify(execFile)('sh', [
      '-c',
      'promtool check metrics < "$0"',
      await saved(metrics.body),
    ]).catch((error: { stdout: string; stderr: string; code: number }) => error);
    expect({ stdout: promtool.stdout, stderr: promtool.stderr }).toEqual({ stdout: '', stderr: '' });
    expect(metrics.body).toContain('scopegate_sidecar_requests_total{decision="allow",reason="allowed"} 1');
    expect(metrics.body).toContain('process_resident_memory_bytes');

    const inFlight = send(sidecar.listenUrl, { path: '/slow/1500', headers: bearer(writer) });
    await until(() => upstream.seen.some((s) => s.url === '/slow/1500') || undefined);
    const stopped = sidecar.stop('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toBe('slow done');
    expect(await stopped).toBe(0);
    await expect(send(sidecar.listenUrl, { path: '/orders/1', headers: bearer(writer) })).rejects.toThrow(
      /ECONNREFUSED/,
    );
    expect(sidecar.logs().find((l) => l['msg'] === 'sidecar stopped')).toMatchObject({ drained: true });
  });
});

async function saved(text: string): Promise<string> {
  const file = join(dir, `metrics-${Date.now()}.txt`);
  await writeFile(file, text);
  return file;
}
