/** What the operator's configuration decides about every injected sidecar (the pod decides only its ports). */
export interface InjectionSettings {
  /** The operator's version, written to the `scopegate.io/injected` annotation. */
  version: string;
  /** Sidecar image, e.g. `ghcr.io/scopegate/scopegate:0.1.0` (the same image as the operator). */
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  resources: {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
  };
  /** Where sidecars reach the operator, e.g. `http://scopegate.scopegate-system.svc:8080`. */
  operatorUrl: string;
  /** The operator's config-signing public key (PEM); the sidecar trusts only bundles it verifies. */
  configPublicKeyPem: string;
  /** Pods here are never injected (kube-system and the operator's own namespace, at least). */
  excludedNamespaces: readonly string[];
}

export const ALWAYS_EXCLUDED_NAMESPACES = ['kube-system'] as const;
