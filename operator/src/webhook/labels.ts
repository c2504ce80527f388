/**
 * The injection API users see on their pods and namespaces, and the marks the webhook leaves behind.
 * Everything here is part of the documented contract (README, NOTES.txt, chart selectors).
 */

/** `"true"` on a pod or its namespace opts the pod in; `"false"` on a pod opts it out of a labelled namespace. */
export const INJECT_LABEL = 'scopegate.io/inject';

/** Required: the port the app listens on, on 127.0.0.1 only. */
export const UPSTREAM_PORT_ANNOTATION = 'scopegate.io/upstream-port';
/** The port the sidecar serves the protected API on; what the Service should target. */
export const LISTEN_PORT_ANNOTATION = 'scopegate.io/listen-port';
/** The sidecar's health, metrics and config port (reached by the kubelet and the operator only). */
export const ADMIN_PORT_ANNOTATION = 'scopegate.io/admin-port';
/** `"true"` forwards the caller's Authorization header to the app (default: stripped). */
export const FORWARD_AUTHORIZATION_ANNOTATION = 'scopegate.io/forward-authorization';

/** Set on injected pods to the operator version that injected them. */
export const INJECTED_ANNOTATION = 'scopegate.io/injected';
/** Set on injected pods so the operator can select its sidecars with a label selector. */
export const INJECTED_LABEL = 'scopegate.io/injected';

export const DEFAULT_LISTEN_PORT = 15900;
export const DEFAULT_ADMIN_PORT = 15901;

export const SIDECAR_CONTAINER_NAME = 'scopegate-sidecar';
export const CONFIG_VOLUME_NAME = 'scopegate-config';
export const CONFIG_DIR = '/var/run/scopegate';
/** Port names are IANA service names: at most 15 characters. */
export const LISTEN_PORT_NAME = 'scopegate';
export const ADMIN_PORT_NAME = 'scopegate-admin';
/**
 * The operator's config-signing public key (PEM) reaches the sidecar as a pod annotation projected
 * into a file by the downward API: nothing to read at run time and no RBAC in user namespaces.
 */
export const CONFIG_PUBLIC_KEY_ANNOTATION = 'scopegate.io/config-public-key';
export const CONFIG_PUBLIC_KEY_VOLUME_NAME = 'scopegate-config-public-key';
export const CONFIG_PUBLIC_KEY_DIR = '/etc/scopegate';
export const CONFIG_PUBLIC_KEY_FILE = 'config-public-key.pem';
/** The sidecar runs as this user (distroless "nonroot"); it needs no file it cannot write. */
export const SIDECAR_USER_ID = 65532;
