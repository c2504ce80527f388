// The CRDs in crds/ against a real kube-apiserver, through the real kubectl: they install, the
// documented examples are accepted, every invalid example is refused with a message a person can act
// on, and `kubectl get` / `kubectl explain` show what the schema promises.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { invalidExamples } from '../../crds/src/invalid-examples.js';
import { kubectl, type CommandResult } from '../support/control-plane.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CRD_DIR = path.join(REPO, 'crds');
const EXAMPLES_DIR = path.join(REPO, 'docs', 'examples');
const CRD_FILES = ['apiroles.scopegate.io.yaml', 'authorizationservers.scopegate.io.yaml'];
// Namespaces never finish deleting without kube-controller-manager: a fresh one per run.
const NS = `crds-${process.pid}-${Date.now().toString(36)}`;

const kubeconfig = inject('kubeconfigPath');
const k = (args: readonly string[], input?: string): Promise<CommandResult> =>
  kubectl(args, { kubeconfig, ...(input === undefined ? {} : { input }) });

function ok(r: CommandResult): string {
  expect(r.code, `kubectl failed:\n${r.stderr}${r.stdout}`).toBe(0);
  return r.stdout;
}

interface PrinterColumn {
  name: string;
  description?: string;
  priority?: number;
}

interface Crd {
  metadata: { name: string };
  spec: {
    names: { kind: string; plural: string; categories?: string[] };
    versions: {
      name: string;
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: Schema };
    }[];
  };
}

interface Schema {
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}

function loadCrd(file: string): Crd {
  return parseAllDocuments(fs.readFileSync(path.join(CRD_DIR, file), 'utf8'))[0]!.toJS() as Crd;
}

function headerOf(table: string): string[] {
  return (table.split('\n')[0] ?? '').trim().split(/\s{2,}/);
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** kubectl explain reads the published OpenAPI, which trails the CRD becoming Established a little. */
async function explain(field: string): Promise<string> {
  let last: CommandResult | undefined;
  for (let i = 0; i < 60; i++) {
    last = await k(['explain', field]);
    if (last.code === 0) return last.stdout;
    await new Promise((r) => setTimeout(r, 500));
  }
  return ok(last!);
}

const exampleFiles = fs.existsSync(EXAMPLES_DIR)
  ? fs
      .readdirSync(EXAMPLES_DIR)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
  : [];

const validRole = {
  apiVersion: 'scopegate.io/v1alpha1',
  kind: 'ApiRole',
  metadata: { name: 'columns-role' },
  spec: { permissions: [{ name: 'read', paths: ['/v1/items'], access: 'ViewOnly' }] },
};
const validServer = {
  apiVersion: 'scopegate.io/v1alpha1',
  kind: 'AuthorizationServer',
  metadata: { name: 'columns-server' },
  spec: {
    provider: 'Generic',
    issuer: 'https://idp.example.com',
    jwks: { uri: 'https://idp.example.com/keys' },
  },
};

describe('CRDs on a real kube-apiserver', () => {
  beforeAll(async () => {
    ok(await k(['create', 'namespace', NS]));
  });

  afterAll(async () => {
    await k(['delete', 'namespace', NS, '--wait=false']);
    await k(['delete', '-f', CRD_DIR, '--ignore-not-found', '--timeout=60s']);
  });

  it('kubectl apply -f crds/ installs both CRDs and they become Established', async () => {
    for (const f of CRD_FILES) expect(fs.existsSync(path.join(CRD_DIR, f)), f).toBe(true);
    const applied = ok(await k(['apply', '-f', CRD_DIR]));
    expect(applied).toContain('customresourcedefinition.apiextensions.k8s.io/apiroles.scopegate.io');
    expect(applied).toContain(
      'customresourcedefinition.apiextensions.k8s.io/authorizationservers.scopegate.io',
    );
    ok(
      await k([
        'wait',
        '--for=condition=Established',
        '--timeout=30s',
        'crd/apiroles.scopegate.io',
        'crd/authorizationservers.scopegate.io',
      ]),
    );
    // NamesAccepted too: no clash of plural, short names or categories.
    const names = ok(
      await k([
        'get',
        'crd',
        'apiroles.scopegate.io',
        'authorizationservers.scopegate.io',
        '-o',
        'jsonpath={range .items[*]}{.status.conditions[?(@.type=="NamesAccepted")].status}{"\\n"}{end}',
      ]),
    );
    expect(names.trim().split('\n')).toEqual(['True', 'True']);
  });

  it('docs/examples has examples', () => {
    expect(exampleFiles.length).toBeGreaterThan(0);
  });

  it.each(exampleFiles)('accepts docs/examples/%s', async (file) => {
    const text = fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8');
    const docs = parseAllDocuments(text)
      .map((d) => d.toJS() as { metadata?: { namespace?: string } } | null)
      .filter((d) => d !== null);
    expect(docs.length, `${file} has no resource`).toBeGreaterThan(0);
    // An example that names its namespace gets it; the others go into the test namespace.
    for (const ns of new Set(docs.flatMap((d) => (d.metadata?.namespace ? [d.metadata.namespace] : [])))) {
      await k(['create', 'namespace', ns]);
    }
    const hasNamespace = docs.some((d) => d.metadata?.namespace);
    ok(await k(['apply', ...(hasNamespace ? [] : ['-n', NS]), '-f', path.join(EXAMPLES_DIR, file)]));
  });

  it.each(invalidExamples)('rejects $name', async ({ manifest, expectedMessage }) => {
    const r = await k(['apply', '-n', NS, '-f', '-'], JSON.stringify(manifest));
    expect(r.code, `accepted:\n${r.stdout}`).not.toBe(0);
    expect(r.stderr).toContain(expectedMessage);
  });

  it('kubectl get apiroles / authorizationservers / scopegate show the printer columns', async () => {
    ok(
      await k(
        ['apply', '-n', NS, '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [validRole, validServer] }),
      ),
    );
    const expected = (file: string, wide: boolean) => [
      'NAME',
      ...(loadCrd(file).spec.versions[0]!.additionalPrinterColumns ?? [])
        .filter((c) => wide || !c.priority)
        .map((c) => c.name.toUpperCase()),
    ];
    const [roleCrd, serverCrd] = CRD_FILES;

    const roles = ok(await k(['get', 'apiroles', '-n', NS]));
    expect(headerOf(roles)).toEqual(expected(roleCrd!, false));
    expect(headerOf(roles)).toEqual(expect.arrayContaining(['ROLE', 'SCOPE', 'READY', 'AGE']));
    expect(roles).toContain('columns-role');
    const rolesWide = ok(await k(['get', 'apiroles', '-n', NS, '-o', 'wide']));
    expect(headerOf(rolesWide)).toEqual(expected(roleCrd!, true));

    const servers = ok(await k(['get', 'authorizationservers', '-n', NS]));
    expect(headerOf(servers)).toEqual(expected(serverCrd!, false));
    expect(headerOf(servers)).toEqual(expect.arrayContaining(['PROVIDER', 'ISSUER']));
    expect(servers).toContain('https://idp.example.com');

    // The `scopegate` category lists both kinds, each table with its own columns.
    for (const file of CRD_FILES) expect(loadCrd(file).spec.names.categories).toContain('scopegate');
    const all = ok(await k(['get', 'scopegate', '-n', NS]));
    const tables = all.split(/\n\s*\n/).filter((t) => t.trim());
    const roleTable = tables.find((t) => t.includes('apirole.scopegate.io/columns-role'));
    const serverTable = tables.find((t) => t.includes('authorizationserver.scopegate.io/columns-server'));
    expect(roleTable, all).toBeDefined();
    expect(serverTable, all).toBeDefined();
    expect(headerOf(roleTable!)).toEqual(expected(roleCrd!, false));
    expect(headerOf(serverTable!)).toEqual(expected(serverCrd!, false));
  });

  it('kubectl explain apirole.spec.permissions shows the field descriptions', async () => {
    const out = await explain('apirole.spec.permissions');
    const permissions = loadCrd(CRD_FILES[0]!).spec.versions[0]!.schema.openAPIV3Schema.properties!.spec!
      .properties!.permissions!;
    const fields = Object.entries(permissions.items?.properties ?? {});
    expect(fields.map(([name]) => name)).toEqual(
      expect.arrayContaining(['name', 'paths', 'access', 'methods']),
    );
    expect(out).toContain('FIELDS:');
    const text = squash(out);
    expect(text).toContain(squash(permissions.description ?? 'no description in the CRD'));
    for (const [name, schema] of fields) {
      expect(out, name).toMatch(new RegExp(`^\\s+${name}\\s`, 'm'));
      expect(schema.description, `${name} has no description`).toBeTruthy();
      expect(text, `description of ${name}`).toContain(squash(schema.description!));
    }
  });
});
