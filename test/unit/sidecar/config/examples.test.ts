/** docs/examples must stay valid and the demo must keep working as the README shows it. */
import { readdir, readFile } from 'node:fs/promises';
import { exportJWK, importJWK } from 'jose';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateResource, type AuthorizationServer } from '../../../../crds/src/index.js';
import { buildSidecarConfig } from '../../../../sidecar/src/config/from-resources.js';
import { compileConfig, decide } from '../../../../sidecar/src/pipeline/decide.js';
import { parseResources } from '../../../../sidecar/src/standalone/resources-file.js';

const DIR = 'docs/examples';
const files = (await readdir(DIR)).filter((f) => f.endsWith('.yaml')).sort();

describe('docs/examples', () => {
  it('has one example per provider', () => {
    expect(files).toEqual(['entra-id.yaml', 'generic.yaml', 'okta.yaml', 'pingfederate.yaml']);
  });

  it.each(files)('%s: every document passes validateResource', async (file) => {
    const docs = parseAllDocuments(await readFile(`${DIR}/${file}`, 'utf8'));
    const objects = (Array.isArray(docs) ? docs : [docs]).map((d) => d.toJS()).filter((v) => v !== null);
    const kinds = objects.map((o) => (o as { kind: string }).kind);
    expect(kinds.filter((k) => k === 'AuthorizationServer')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'ApiRole').length).toBeGreaterThanOrEqual(2);
    for (const object of objects) {
      const result = validateResource(object);
      expect(result.ok ? [] : result.errors).toEqual([]);
      expect((object as { metadata: { namespace?: string } }).metadata.namespace).toBeUndefined();
    }
  });

  it.each(files)('%s: has an admin with Full, a ViewOnly role and a None deny', async (file) => {
    const text = await readFile(`${DIR}/${file}`, 'utf8');
    expect(text).toMatch(/access: Full/);
    expect(text).toMatch(/access: ViewOnly/);
    expect(text).toMatch(/access: None/);
    expect(text).toMatch(/methods: \[/);
  });

  it('the demo private key matches the public key in generic.yaml', async () => {
    const loaded = parseResources(await readFile(`${DIR}/generic.yaml`, 'utf8'), 'generic.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const inline = loaded.resources.servers[0]?.spec.jwks.inline?.keys[0];
    const jwk = JSON.parse(await readFile(`${DIR}/demo/demo-signing-key.private.jwk.json`, 'utf8'));
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = jwk;
    expect(inline).toEqual(publicPart);
    expect(await exportJWK(await importJWK(publicPart, 'RS256'))).toMatchObject({
      n: inline?.n,
      e: inline?.e,
    });
  });

  it('the demo reader token is allowed GET /v1/items and nothing more, until 2099', async () => {
    const loaded = parseResources(await readFile(`${DIR}/generic.yaml`, 'utf8'), 'generic.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const now = new Date('2030-06-01T00:00:00Z');
    const compiled = await compileConfig(
      buildSidecarConfig({
        tenant: { cloudName: 'demo', orgId: '1234567', cloudDomain: 'demo' },
        revision: 1,
        now,
        servers: loaded.resources.servers.map((s: AuthorizationServer) => ({
          resource: s,
          keys: s.spec.jwks.inline,
        })),
        roles: loaded.resources.roles,
      }),
    );
    const token = (await readFile(`${DIR}/demo/reader.jwt`, 'utf8')).trim();
    const ask = (method: string, url: string) =>
      decide(compiled, { method, url, authorization: `Bearer ${token}` }, now);
    expect((await ask('GET', '/v1/items')).reason).toBe('allowed');
    expect((await ask('POST', '/v1/items')).reason).toBe('permission_denied');
    expect((await ask('GET', '/v1/admin/settings')).reason).toBe('permission_denied');
    const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString());
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
    expect(header.kid).toBe('demo-key-1');
    expect(claims.exp).toBe(Date.parse('2099-01-01T00:00:00Z') / 1000);
  });
});
