/**
 * Keeps the MutatingWebhookConfiguration's caBundle equal to the CA bundle the webhook's certificates
 * chain to. Patched by the leader (the chart ships the configuration with an empty caBundle and RBAC
 * that allows get/patch on that one object only).
 */
import type { KubeClient } from '../kube/client.js';

export const JSON_PATCH = 'application/json-patch+json';

interface WebhookConfiguration {
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

export interface CaBundleTarget {
  /** Patches every webhook of the configuration whose caBundle differs; resolves with how many changed. */
  ensure(caBundlePem: string): Promise<number>;
}

type CaBundlePatchOperation =
  { op: 'test'; path: string; value: string } | { op: 'add'; path: string; value: string };

/** Pure: the JSON patch that sets each webhook's caBundle (a `test` per webhook guards against reordering). */
export function caBundlePatch(
  configuration: WebhookConfiguration,
  caBundlePem: string,
): CaBundlePatchOperation[] {
  const wanted = Buffer.from(caBundlePem, 'utf8').toString('base64');
  return (configuration.webhooks ?? []).flatMap((webhook, index): CaBundlePatchOperation[] =>
    webhook.clientConfig?.caBundle === wanted
      ? []
      : [
          { op: 'test', path: `/webhooks/${index}/name`, value: webhook.name },
          { op: 'add', path: `/webhooks/${index}/clientConfig/caBundle`, value: wanted },
        ],
  );
}

export function createCaBundleTarget(kube: KubeClient, webhookConfigurationName: string): CaBundleTarget {
  const path = `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(webhookConfigurationName)}`;
  return {
    async ensure(caBundlePem) {
      const configuration = await kube.request<WebhookConfiguration>('GET', path);
      const patch = caBundlePatch(configuration, caBundlePem);
      if (patch.length === 0) return 0;
      await kube.request('PATCH', path, { body: patch, contentType: JSON_PATCH });
      return patch.length / 2;
    },
  };
}
