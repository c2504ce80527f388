import { describe, expect, it } from 'vitest';
import { invalidExamples } from '../../../crds/src/invalid-examples.js';
import { formatFieldErrors, validateResource } from '../../../crds/src/validate.js';

const validServer = {
  apiVersion: 'scopegate.io/v1alpha1',
  kind: 'AuthorizationServer',
  metadata: { name: 'okta' },
  spec: {
    provider: 'Okta',
    issuer: 'https://acme.okta.com/oauth2/default',
    jwks: { uri: 'https://acme.okta.com/oauth2/default/v1/keys' },
  },
};

describe('validateResource', () => {
  it('accepts a minimal server and applies the schema defaults', () => {
    const result = validateResource(validServer);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.resource.spec).toMatchObject({
      enabled: true,
      allowedAlgorithms: ['RS256'],
      clockSkew: '60s',
      jwks: { refreshInterval: '1h' },
    });
  });

  it('does not mutate its input', () => {
    const input = structuredClone(validServer);
    validateResource(input);
    expect(input).toEqual(validServer);
  });

  it('refuses fields the schema does not declare, as kubectl does', () => {
    const result = validateResource({ ...validServer, spec: { ...validServer.spec, issuerr: 'typo' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatFieldErrors(result.errors)).toContain('spec.issuerr: field not declared in schema');
  });

  it('refuses other kinds and API versions with a clear message', () => {
    const other = validateResource({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    expect(other.ok).toBe(false);
    if (!other.ok)
      expect(formatFieldErrors(other.errors)).toContain('expected ApiRole or AuthorizationServer');
    const version = validateResource({ ...validServer, apiVersion: 'scopegate.io/v1' });
    expect(version.ok).toBe(false);
    if (!version.ok)
      expect(formatFieldErrors(version.errors)).toContain('apiVersion: expected scopegate.io/v1alpha1');
  });

  it('refuses a non-object document', () => {
    expect(validateResource('just text').ok).toBe(false);
    expect(validateResource(null).ok).toBe(false);
  });

  it.each(invalidExamples.map((e) => [e.name, e] as const))('rejects %s', (_name, example) => {
    const result = validateResource(example.manifest);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatFieldErrors(result.errors)).toContain(example.expectedMessage);
  });

  it('has at least 20 invalid examples', () => {
    expect(invalidExamples.length).toBeGreaterThanOrEqual(20);
  });
});
