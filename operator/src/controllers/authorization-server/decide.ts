/**
 * The AuthorizationServer's status, decided purely from the resource, its namespace peers and the
 * state of its key fetches. An ordered chain of checks: the first failure becomes Ready=False.
 */
import type { AuthorizationServer, AuthorizationServerStatus, Jwk } from '../../../../crds/src/index.js';
import { formatTime, setCondition, type DesiredCondition } from '../../conditions.js';
import type { KeyState } from '../../jwks/key-store.js';
import { duplicateIssuerOf, isEnabled } from '../effective.js';
import { KEYS_FETCHED, READY, Reason } from '../reasons.js';

export interface ServerInput {
  server: AuthorizationServer;
  /** Every AuthorizationServer of the same namespace (may include `server`). */
  peers: readonly AuthorizationServer[];
  /** The fetch state for a `jwks.uri` server; undefined for inline keys or before tracking. */
  keyState: KeyState | undefined;
  now: Date;
}

export interface ServerDecision {
  status: AuthorizationServerStatus;
  /** Whether sidecars trust this server (it takes part in config bundles). */
  effective: boolean;
  /** The keys it contributes, if any. */
  keys: Jwk[] | undefined;
}

/** Which keys can verify which algorithms; a key's own `alg`, when present, must match too. */
export function keyFitsAlgorithm(key: Jwk, alg: string): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  if (/^(RS|PS)\d+$/.test(alg)) return key.kty === 'RSA';
  if (alg === 'ES256') return key.kty === 'EC' && key.crv === 'P-256';
  if (alg === 'ES384') return key.kty === 'EC' && key.crv === 'P-384';
  if (alg === 'ES512') return key.kty === 'EC' && key.crv === 'P-521';
  if (alg === 'EdDSA') return key.kty === 'OKP' && key.crv === 'Ed25519';
  return false;
}

const describeKeys = (keys: Jwk[]) =>
  [...new Set(keys.map((k) => (k.kty === 'RSA' ? 'RSA' : `${k.kty} ${k.crv ?? ''}`.trim())))].join(', ');

function keysCondition(server: AuthorizationServer, keyState: KeyState | undefined): DesiredCondition {
  const inline = server.spec.jwks.inline;
  if (!isEnabled(server)) {
    return {
      type: KEYS_FETCHED,
      status: 'Unknown',
      reason: Reason.Disabled,
      message: 'Keys are not fetched while the server is disabled.',
    };
  }
  if (inline) {
    return {
      type: KEYS_FETCHED,
      status: 'True',
      reason: Reason.InlineKeys,
      message: `${inline.keys.length} key(s) are given inline in jwks.inline.`,
    };
  }
  const uri = server.spec.jwks.uri ?? '';
  if (keyState === undefined || (!keyState.attempted && keyState.keys === undefined)) {
    return {
      type: KEYS_FETCHED,
      status: 'Unknown',
      reason: Reason.Fetching,
      message: `Fetching the key set from ${uri}.`,
    };
  }
  const kept = keyState.keys
    ? ` Sidecars keep trusting the ${keyState.keys.length} key(s) fetched at ${formatTime(keyState.fetchedAt as Date)}.`
    : ' No key has ever been fetched, so sidecars accept no token from this server.';
  if (keyState.lastError) {
    return {
      type: KEYS_FETCHED,
      status: 'False',
      reason: keyState.lastError.reason,
      message: `${capitalise(keyState.lastError.message)}.${kept} Retrying with backoff.`,
    };
  }
  const dropped = keyState.dropped.length > 0 ? ` Ignored: ${keyState.dropped.join('; ')}.` : '';
  return {
    type: KEYS_FETCHED,
    status: 'True',
    reason: Reason.Fetched,
    message: `Fetched ${keyState.keys?.length ?? 0} key(s) from ${uri}.${dropped}`,
  };
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).replace(/\.$/, '');

export function decideAuthorizationServer(input: ServerInput): ServerDecision {
  const { server, peers, keyState, now } = input;
  const generation = server.metadata.generation;
  const keys = server.spec.jwks.inline ? server.spec.jwks.inline.keys : keyState?.keys;
  const keysCond = keysCondition(server, keyState);
  const ready = readyCondition(server, peers, keys, keysCond);

  let conditions = setCondition(server.status?.conditions, ready, generation, now);
  conditions = setCondition(conditions, keysCond, generation, now);
  conditions = orderConditions(conditions, [READY, KEYS_FETCHED]);

  const status: AuthorizationServerStatus = {
    conditions,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (isEnabled(server) && keys !== undefined) {
    status.keyIds = keys
      .map((k) => k.kid ?? '')
      .filter((k) => k !== '')
      .slice(0, 64);
    status.keyCount = keys.length;
  }
  if (isEnabled(server) && keyState?.fetchedAt && !server.spec.jwks.inline) {
    status.lastSuccessfulFetchTime = formatTime(keyState.fetchedAt);
  } else if (server.status?.lastSuccessfulFetchTime && !server.spec.jwks.inline && isEnabled(server)) {
    // Survives an operator restart while the identity provider is down.
    status.lastSuccessfulFetchTime = server.status.lastSuccessfulFetchTime;
  }
  const effective = isEnabled(server) && duplicateIssuerOf(server, peers) === undefined;
  return { status, effective, keys: effective ? keys : undefined };
}

function readyCondition(
  server: AuthorizationServer,
  peers: readonly AuthorizationServer[],
  keys: Jwk[] | undefined,
  keysCond: DesiredCondition,
): DesiredCondition {
  const notReady = (reason: string, message: string): DesiredCondition => ({
    type: READY,
    status: 'False',
    reason,
    message,
  });
  if (!isEnabled(server)) {
    return notReady(Reason.Disabled, 'spec.enabled is false: no sidecar accepts tokens from this server.');
  }
  const duplicate = duplicateIssuerOf(server, peers);
  if (duplicate) {
    return notReady(
      Reason.DuplicateIssuer,
      `Issuer ${server.spec.issuer} is already trusted through AuthorizationServer '${duplicate.metadata.name}' in this namespace, which is older; a token names only its issuer, so only one server per issuer can verify it. Delete one of the two, set enabled: false on one, or give them workloadSelectors that select different pods.`,
    );
  }
  if (keys === undefined || keys.length === 0) {
    if (keysCond.status === 'Unknown') {
      return { type: READY, status: 'Unknown', reason: Reason.Fetching, message: keysCond.message };
    }
    return notReady(
      Reason.KeysUnavailable,
      `No signing key is available, so sidecars reject every token from this server: ${keysCond.message}`,
    );
  }
  const algorithms = server.spec.allowedAlgorithms ?? ['RS256'];
  if (!keys.some((k) => algorithms.some((a) => keyFitsAlgorithm(k, a)))) {
    return notReady(
      Reason.NoKeyForAlgorithms,
      `None of the ${keys.length} key(s) (${describeKeys(keys)}) can verify the allowed algorithms ${algorithms.join(', ')}, so every token would be rejected. Set allowedAlgorithms to match the keys (RS*/PS* need RSA keys, ES256 a P-256 key, EdDSA an Ed25519 key).`,
    );
  }
  const stale = keysCond.status === 'False' ? ' (with the last good keys: see KeysFetched)' : '';
  return {
    type: READY,
    status: 'True',
    reason: Reason.Ready,
    message: `Sidecars of this namespace trust this server with ${keys.length} key(s)${stale}.`,
  };
}

export function orderConditions<T extends { type: string }>(conditions: T[], order: string[]): T[] {
  const rank = (t: string) => (order.includes(t) ? order.indexOf(t) : order.length);
  return [...conditions].sort((a, b) => rank(a.type) - rank(b.type));
}
