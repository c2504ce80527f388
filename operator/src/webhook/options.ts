/**
 * The webhook's configuration, from environment variables the chart sets (the operator's flags carry
 * the rest: --webhook, --webhook-addr, --namespace). Parsed once, in main, with every mistake reported
 * at start, all at once.
 */
import { parseDuration } from '../../../crds/src/index.js';
import { ALWAYS_EXCLUDED_NAMESPACES, type InjectionSettings } from './settings.js';

export interface WebhookOptions {
  /** Where the HTTPS server listens. */
  addr: { host: string; port: number };
  sidecar: Pick<InjectionSettings, 'image' | 'imagePullPolicy' | 'resources' | 'operatorUrl'>;
  /** Never injected: kube-system, the operator's namespace, and any listed. */
  excludedNamespaces: string[];
  certificates:
    | {
        mode: 'self-managed';
        secretName: string;
        webhookConfigurationName: string;
        /** DNS names (and IPs) of the serving certificate. */
        hosts: string[];
        checkIntervalMs: number;
      }
    | { mode: 'files'; directory: string; reloadIntervalMs: number };
  unprotectedPods: { enabled: boolean; intervalMs: number; repeatAfterMs: number };
}

/** Every variable, its default and what it means (for docs and `--help`). */
export const WEBHOOK_ENV: Record<string, { help: string; default?: string }> = {
  SCOPEGATE_SIDECAR_IMAGE: { help: 'Image of the injected sidecar (required with --webhook)' },
  SCOPEGATE_SIDECAR_IMAGE_PULL_POLICY: { help: 'Always, IfNotPresent or Never', default: 'IfNotPresent' },
  SCOPEGATE_SIDECAR_RESOURCES: {
    help: 'The sidecar container\'s resources as JSON: {"requests":{...},"limits":{...}}',
    default: '{"requests":{"cpu":"50m","memory":"64Mi"},"limits":{"memory":"256Mi"}}',
  },
  SCOPEGATE_OPERATOR_URL: {
    help: 'URL sidecars reach the operator at, e.g. http://scopegate.scopegate-system.svc:8080 (required)',
  },
  SCOPEGATE_WEBHOOK_EXCLUDED_NAMESPACES: {
    help: "Comma-separated namespaces never injected, besides kube-system and the operator's",
  },
  SCOPEGATE_WEBHOOK_CERTIFICATES: {
    help: 'self-managed (the operator issues and rotates them) or files (cert-manager)',
    default: 'self-managed',
  },
  SCOPEGATE_WEBHOOK_SECRET: {
    help: 'Secret holding self-managed webhook certificates',
    default: 'scopegate-webhook-tls',
  },
  SCOPEGATE_WEBHOOK_CONFIGURATION: {
    help: 'MutatingWebhookConfiguration whose caBundle the leader keeps current',
    default: 'scopegate',
  },
  SCOPEGATE_WEBHOOK_SERVICE: {
    help: 'Service in front of the webhook (names in the certificate)',
    default: 'scopegate-webhook',
  },
  SCOPEGATE_WEBHOOK_EXTRA_HOSTS: { help: 'Comma-separated extra DNS names or IPs for the certificate' },
  SCOPEGATE_WEBHOOK_CERT_DIR: {
    help: 'Directory with tls.crt and tls.key (files mode)',
    default: '/var/run/scopegate/webhook-tls',
  },
  SCOPEGATE_WEBHOOK_CERT_CHECK_INTERVAL: {
    help: 'How often certificates are checked or reloaded',
    default: '60s',
  },
  SCOPEGATE_UNPROTECTED_PODS_CHECK: {
    help: 'Report opted-in pods without the sidecar (true|false)',
    default: 'true',
  },
  SCOPEGATE_UNPROTECTED_PODS_INTERVAL: { help: 'How often the leader looks for them', default: '60s' },
  SCOPEGATE_UNPROTECTED_PODS_REPEAT: {
    help: 'How often the Warning Event is repeated for one pod',
    default: '1h',
  },
};

export type WebhookOptionsResult = { ok: true; options: WebhookOptions } | { ok: false; errors: string[] };

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

export function parseWebhookOptions(
  env: Readonly<Record<string, string | undefined>>,
  context: { operatorNamespace: string; addr: { host: string; port: number } },
): WebhookOptionsResult {
  const errors: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value !== undefined && value !== '' ? value : WEBHOOK_ENV[name]?.default;
  };
  const required = (name: string): string => {
    const value = raw(name);
    if (value === undefined) errors.push(`${name} is required: ${WEBHOOK_ENV[name]?.help ?? ''}`);
    return value ?? '';
  };
  const duration = (name: string, minMs: number): number => {
    const text = raw(name) as string;
    const ms = parseDuration(text);
    if (ms === undefined || ms < minMs)
      errors.push(`${name} '${text}' must be a duration of at least ${minMs}ms, like 30s or 5m`);
    return ms ?? 0;
  };
  const name = (variable: string, pattern: RegExp, what: string): string => {
    const text = raw(variable) as string;
    if (!pattern.test(text) || text.length > 253) errors.push(`${variable} '${text}' is not a valid ${what}`);
    return text;
  };

  const image = required('SCOPEGATE_SIDECAR_IMAGE');
  const imagePullPolicy = raw('SCOPEGATE_SIDECAR_IMAGE_PULL_POLICY') as string;
  if (!(PULL_POLICIES as readonly string[]).includes(imagePullPolicy)) {
    errors.push(
      `SCOPEGATE_SIDECAR_IMAGE_PULL_POLICY '${imagePullPolicy}' must be one of ${PULL_POLICIES.join(', ')}`,
    );
  }
  const resources = parseResources(raw('SCOPEGATE_SIDECAR_RESOURCES') as string, errors);
  const operatorUrl = required('SCOPEGATE_OPERATOR_URL');
  if (operatorUrl !== '' && !/^https?:\/\/[^/\s]+/.test(operatorUrl)) {
    errors.push(`SCOPEGATE_OPERATOR_URL '${operatorUrl}' must be an http(s) URL`);
  }

  const excluded = list(raw('SCOPEGATE_WEBHOOK_EXCLUDED_NAMESPACES'));
  for (const ns of excluded)
    if (!DNS_LABEL.test(ns))
      errors.push(`SCOPEGATE_WEBHOOK_EXCLUDED_NAMESPACES: '${ns}' is not a namespace name`);
  const excludedNamespaces = [
    ...new Set([...ALWAYS_EXCLUDED_NAMESPACES, context.operatorNamespace, ...excluded]),
  ];

  const mode = raw('SCOPEGATE_WEBHOOK_CERTIFICATES');
  const intervalMs = duration('SCOPEGATE_WEBHOOK_CERT_CHECK_INTERVAL', 1000);
  let certificates: WebhookOptions['certificates'];
  if (mode === 'files') {
    certificates = {
      mode,
      directory: raw('SCOPEGATE_WEBHOOK_CERT_DIR') as string,
      reloadIntervalMs: intervalMs,
    };
  } else {
    if (mode !== 'self-managed')
      errors.push(`SCOPEGATE_WEBHOOK_CERTIFICATES '${mode}' must be self-managed or files`);
    const service = name('SCOPEGATE_WEBHOOK_SERVICE', DNS_LABEL, 'Service name');
    const ns = context.operatorNamespace;
    certificates = {
      mode: 'self-managed',
      secretName: name('SCOPEGATE_WEBHOOK_SECRET', DNS_SUBDOMAIN, 'Secret name'),
      webhookConfigurationName: name(
        'SCOPEGATE_WEBHOOK_CONFIGURATION',
        DNS_SUBDOMAIN,
        'MutatingWebhookConfiguration name',
      ),
      hosts: [
        ...new Set([
          `${service}.${ns}.svc`,
          `${service}.${ns}`,
          service,
          ...list(raw('SCOPEGATE_WEBHOOK_EXTRA_HOSTS')),
        ]),
      ],
      checkIntervalMs: intervalMs,
    };
  }

  const check = (raw('SCOPEGATE_UNPROTECTED_PODS_CHECK') as string).toLowerCase();
  if (check !== 'true' && check !== 'false')
    errors.push(`SCOPEGATE_UNPROTECTED_PODS_CHECK '${check}' must be true or false`);
  const options: WebhookOptions = {
    addr: context.addr,
    sidecar: {
      image,
      imagePullPolicy: imagePullPolicy as InjectionSettings['imagePullPolicy'],
      resources,
      operatorUrl,
    },
    excludedNamespaces,
    certificates,
    unprotectedPods: {
      enabled: check === 'true',
      intervalMs: duration('SCOPEGATE_UNPROTECTED_PODS_INTERVAL', 1000),
      repeatAfterMs: duration('SCOPEGATE_UNPROTECTED_PODS_REPEAT', 1000),
    },
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, options };
}

const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

function parseResources(text: string, errors: string[]): InjectionSettings['resources'] {
  const where = 'SCOPEGATE_SIDECAR_RESOURCES';
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    errors.push(`${where} is not JSON: ${text}`);
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    errors.push(`${where} must be a JSON object with requests and/or limits`);
    return {};
  }
  const resources: InjectionSettings['resources'] = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key !== 'requests' && key !== 'limits') {
      errors.push(`${where}: unknown key '${key}' (only requests and limits)`);
      continue;
    }
    const quantities: Record<string, string> = {};
    for (const [resource, quantity] of Object.entries((value ?? {}) as Record<string, unknown>)) {
      const asText = typeof quantity === 'number' ? String(quantity) : quantity;
      if (typeof asText !== 'string' || !QUANTITY.test(asText)) {
        errors.push(
          `${where}: ${key}.${resource} '${String(quantity)}' is not a Kubernetes quantity like 100m or 128Mi`,
        );
        continue;
      }
      quantities[resource] = asText;
    }
    resources[key] = quantities;
  }
  return resources;
}
