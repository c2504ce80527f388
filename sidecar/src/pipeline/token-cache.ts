/**
 * A bounded cache of tokens that passed verification, so a busy client costs one signature check
 * per token rather than per request. It keeps only what verification established (never the token:
 * entries are keyed by its sha256), each entry lives until the token's `exp`, and the whole cache
 * belongs to one compiled config: the first use with a newer config empties it.
 */
import { hash } from 'node:crypto';

export interface VerifiedIdentity {
  server: string;
  issuer: string;
  clientId?: string;
  key: { kid?: string; alg: string };
  /** The claim the scope values came from, if the token had one. */
  scopeClaim?: string;
  scopeValues: string[];
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
}

export class TokenCache {
  readonly maxEntries: number;
  #entries = new Map<string, VerifiedIdentity>();
  #owner: object | undefined;

  constructor(opts: { maxEntries: number }) {
    if (!Number.isInteger(opts.maxEntries) || opts.maxEntries < 0) {
      throw new TypeError('TokenCache maxEntries must be a non-negative integer');
    }
    this.maxEntries = opts.maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The identity verified for this token under this config, if still before its `exp`. */
  get(owner: object, token: string, now: Date): VerifiedIdentity | undefined {
    this.#adopt(owner);
    const key = cacheKey(token);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAt * 1000 <= now.getTime()) return undefined;
    this.#entries.set(key, entry); // most recently used last
    return entry;
  }

  set(owner: object, token: string, identity: VerifiedIdentity, now: Date): void {
    this.#adopt(owner);
    if (this.maxEntries === 0 || identity.expiresAt * 1000 <= now.getTime()) return;
    const key = cacheKey(token);
    this.#entries.delete(key);
    this.#entries.set(key, structuredClone(identity));
    while (this.#entries.size > this.maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }

  clear(): void {
    this.#entries.clear();
  }

  #adopt(owner: object): void {
    if (this.#owner !== owner) {
      this.#entries.clear();
      this.#owner = owner;
    }
  }
}

/** One-shot hashing: half the CPU of a createHash object, and this runs on every request. */
function cacheKey(token: string): string {
  return hash('sha256', token, 'base64url');
}
