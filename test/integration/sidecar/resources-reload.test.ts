/**
 * Standalone mode follows its resources file: a valid change becomes a new revision and is enforced;
 * an invalid change is refused, logged with document, field and reason, counted, and the last good
 * config stays in force. An invalid file at start is refused by the real CLI with the same detail.
 */
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './support/build.js';
import { bearer, send } from './support/client.js';
import { startInProcess, until, type InProcessSidecar } from './support/in-process.js';
import { resourcesYaml } from './support/resources.js';
import { runSidecarCli } from './support/sidecar-process.js';
import { CLOUD, mint, ORG, scope, signingKey, type SigningKey } from './support/tokens.js';
import { startUpstream, type TestUpstream } from './support/upstream.js';

const AUDITOR = `apiVersion: scopegate.io/v1alpha1
kind: ApiRole
metadata:
  name: auditor
  namespace: shop
spec:
  permissions:
    - name: read-reports
      paths: [/reports/**]
      access: ViewOnly`;

let dir: string;
let file: string;
let upstream: TestUpstream;
let key: SigningKey;
let sidecar: InProcessSidecar;

beforeAll(async () => {
  await ensureBuilt();
  key = await signingKey('k1');
  upstream = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), 'scopegate-reload-'));
  file = join(dir, 'resources.yaml');
  await writeFile(file, resourcesYaml({ inlineKeys: [key.publicJwk] }));
  sidecar = await startInProcess(
    { upstream: upstream.url, resources: file },
    { resourcesPollIntervalMs: 500 },
  );
});

afterAll(async () => {
  await sidecar?.close();
  await upstream?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const revision = async () =>
  (await send(sidecar.adminUrl, { path: '/v1/config' })).json['revision'] as number;
const auditorCall = async () =>
  (
    await send(sidecar.listenUrl, {
      path: '/reports/q1',
      headers: bearer(await mint(key, [scope('auditor')])),
    })
  ).json.code ?? 'ok';
const reloads = async (result: string) => {
  const body = (await send(sidecar.adminUrl, { path: '/metrics' })).body;
  const line = body
    .split('\n')
    .find((l) => l.startsWith(`scopegate_sidecar_config_reloads_total{source="file",result="${result}"}`));
  return line === undefined ? 0 : Number(line.split(' ')[1]);
};

/** Editors and ConfigMap mounts replace the file; do the same (write aside, rename over). */
async function replaceFile(text: string) {
  const temp = `${file}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}

describe('resources file reload', () => {
  it('applies a valid change as a new revision', async () => {
    expect(await revision()).toBe(1);
    expect(await auditorCall()).toBe('role_unknown');
    await replaceFile(resourcesYaml({ inlineKeys: [key.publicJwk], extra: [AUDITOR] }));
    await until(async () => ((await revision()) === 2 ? true : undefined));
    expect(await auditorCall()).toBe('ok');
    expect(await reloads('applied')).toBe(2);
  });

  it('refuses an invalid change, keeps the last good config and counts it', async () => {
    const broken = AUDITOR.replace('access: ViewOnly', 'access: Everything');
    await replaceFile(resourcesYaml({ inlineKeys: [key.publicJwk], extra: [broken] }));
    await until(async () => ((await reloads('invalid')) === 1 ? true : undefined));
    expect(await revision()).toBe(2);
    expect(await auditorCall()).toBe('ok');
    const logged = sidecar.logs.find(
      (l) => l['msg'] === 'refused the new resources file; keeping the last good config',
    );
    expect((logged?.['errors'] as string[])[0]).toMatch(
      /document 6 \(ApiRole auditor\): spec\.permissions\[0\]\.access: Unsupported value/,
    );
  });

  it('applies the next valid version after a refused one', async () => {
    await replaceFile(resourcesYaml({ inlineKeys: [key.publicJwk] }));
    await until(async () => ((await revision()) === 3 ? true : undefined));
    expect(await auditorCall()).toBe('role_unknown');
  });

  it('refuses an invalid file at start (the real CLI), naming the document, field and reason', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      resourcesYaml({ inlineKeys: [key.publicJwk] }).replace('issuer: https://legacy.test', 'issuer: ""'),
    );
    const { code, stderr } = await runSidecarCli([
      '--resources',
      bad,
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
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /invalid resources file:\n.*bad\.yaml, document 2 \(AuthorizationServer legacy\): spec\.issuer: /,
    );
  });

  it('refuses wrong usage with exit code 2', async () => {
    const { code, stderr } = await runSidecarCli(['--resources', file]);
    expect(code).toBe(2);
    expect(stderr).toContain('--upstream (or SCOPEGATE_UPSTREAM) is required');
  });
});
