import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../sidecar/src/standalone/resources-file.js';

const SERVER = `apiVersion: scopegate.io/v1alpha1
kind: AuthorizationServer
metadata:
  name: okta
spec:
  provider: Okta
  issuer: https://example.okta.com/oauth2/default
  jwks:
    uri: https://example.okta.com/oauth2/default/v1/keys
`;
const ROLE = `apiVersion: scopegate.io/v1alpha1
kind: ApiRole
metadata:
  name: reader
spec:
  permissions:
    - name: read
      paths: [/v1/**]
      access: ViewOnly
`;

describe('parseResources', () => {
  it('reads servers and roles from a multi-document file and applies defaults', () => {
    const result = parseResources(`${SERVER}---\n${ROLE}---\n`, 'r.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.resources.servers).toHaveLength(1);
    expect(result.resources.roles).toHaveLength(1);
    expect(result.resources.servers[0]?.spec.allowedAlgorithms).toEqual(['RS256']);
  });

  it('unwraps a kind: List', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [] as unknown[] };
    const result = parseResources(JSON.stringify(list), 'r.json');
    expect(result).toEqual({ ok: true, resources: { servers: [], roles: [] } });
  });

  it('names the document, the resource, the field and the reason', () => {
    const bad = ROLE.replace('access: ViewOnly', 'access: Everything');
    const result = parseResources(`${SERVER}---\n${bad}`, 'r.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatch(
      /^r\.yaml, document 2 \(ApiRole reader\): spec\.permissions\[0\]\.access: Unsupported value/,
    );
  });

  it('reports YAML syntax errors, unknown kinds and duplicates', () => {
    expect(parseResources('a: [1, 2', 'x.yaml')).toMatchObject({ ok: false });
    const unknown = parseResources('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n', 'x.yaml');
    expect(unknown.ok === false && unknown.errors[0]).toContain('expected ApiRole or AuthorizationServer');
    const duplicate = parseResources(`${ROLE}---\n${ROLE}`, 'x.yaml');
    expect(duplicate.ok === false && duplicate.errors.join()).toContain('already defined');
  });

  it('refuses an http jwks.uri with the CRD message', () => {
    const result = parseResources(SERVER.replace('uri: https://', 'uri: http://'), 'x.yaml');
    expect(result.ok === false && result.errors[0]).toContain('jwks.uri must be an https:// URL');
  });
});
