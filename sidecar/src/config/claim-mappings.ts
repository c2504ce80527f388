/**
 * Which token claims carry the API roles and the client ID, per kind of authorization server.
 * Sources: zscaler-spec.md §4 (Okta `scp`/`cid`; Entra ID `roles` for app tokens, `appid` (v1) or
 * `azp` (v2); PingFederate `scp` or `scope`, string or array, `client_id`).
 */
import type { Provider } from '../../../crds/src/index.js';

export interface ClaimMapping {
  /** Tried in order; the first claim present is the one used. */
  scope: readonly string[];
  /** Tried in order; the first string claim present is the client ID. */
  clientId: readonly string[];
}

export const DEFAULT_CLAIM_MAPPINGS: Readonly<Record<Provider, ClaimMapping>> = {
  Okta: { scope: ['scp'], clientId: ['cid'] },
  // Client-credentials tokens carry app roles in `roles`; `scp` only appears in user tokens.
  EntraID: { scope: ['roles', 'scp'], clientId: ['appid', 'azp'] },
  PingFederate: { scope: ['scp', 'scope'], clientId: ['client_id'] },
  Generic: { scope: ['scope', 'scp', 'roles'], clientId: ['client_id', 'azp', 'cid', 'appid'] },
};
