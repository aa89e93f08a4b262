import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RetryableVendorError } from '../../delivery/errors.js';
import type { RedisConnection } from '../../queues/connection.js';
import type { MantagoPair } from './client.js';
import { MANTAGO } from './errors.js';
import { learnSecret } from '../../runtime/redact.js';
import { RedisLock } from '../../runtime/redis-lock.js';

/** A pair as read from the store, with an id to compare pairs by (a short hash: safe to keep and compare). */
export interface StoredPair extends MantagoPair {
  id: string;
}

export interface CredentialStoreOptions {
  /** How long a refresher may hold the lock; must outlast the refresh call (the vendor timeout). */
  lockTtlMs?: number;
  /** How often a waiting replica looks whether the refresher is done. */
  pollMs?: number;
  /** How long the write of a freshly refreshed pair is retried before the call fails (the pair stays in memory). */
  storeRetryMs?: number;
}

/** The one message for a pair that is really gone (MantaGO retired it and no store holds the new one). */
export function lostPairMessage(key: string): string {
  return `MantaGO refuses the stored credentials (120000/1004) and no replica holds a newer pair: the pair is lost. ` +
    `Get a new token+secret from MantaGO and store it with "MANTAGO_NEW_TOKEN=… MANTAGO_NEW_SECRET=… order-notify mantago-set-pair" (Redis key ${key})`;
}

const storedSchema = z.object({ token: z.string().min(1), secret: z.string().min(1) });


export function pairId(pair: MantagoPair): string {
  return createHash('sha256').update(pair.token).update('\0').update(pair.secret).digest('hex').slice(0, 16);
}

/**
 * MantaGO's one (token, secret) pair per bot, shared by every replica through Redis. A refresh rotates BOTH values
 * and retires the old pair, so exactly one replica may refresh per expiry: it holds a Redis lock (SET NX PX with
 * a random token, released by compare-and-delete) while the others wait and then pick up the new pair.
 * Values are never logged or put in errors; only pair ids (hashes) are compared.
 */
export class MantagoCredentialStore {
  readonly key: string;
  readonly lockKey: string;
  private readonly lockTtlMs: number;
  private readonly pollMs: number;
  private readonly storeRetryMs: number;
  private readonly lock: RedisLock;
  /** A refreshed pair whose write to Redis has not succeeded yet: written before anything uses it. */
  private unstored: MantagoPair | undefined;

  constructor(
    private readonly redis: RedisConnection,
    prefix: string,
    botId: string,
    private readonly seed: MantagoPair,
    opts: CredentialStoreOptions = {},
  ) {
    this.key = `${prefix}:mantago:credentials:${botId}`;
    this.lockKey = `${this.key}:lock`;
    this.lockTtlMs = opts.lockTtlMs ?? 30_000;
    this.pollMs = opts.pollMs ?? 100;
    this.storeRetryMs = opts.storeRetryMs ?? 20_000;
    this.lock = new RedisLock(redis, this.lockKey, this.lockTtlMs);
  }

  /** The current pair. The env pair seeds the store only when it is empty: after a rotation Redis is the truth. */
  async current(): Promise<StoredPair> {
    await this.flush();
    let raw = await this.redis.get(this.key);
    if (raw === null) {
      await this.redis.set(this.key, serialise(this.seed), 'NX');
      raw = await this.redis.get(this.key);
    }
    const parsed = storedSchema.safeParse(safeJson(raw));
    if (!parsed.success) {
      // Retryable, not permanent: deliveries wait (with backoff) while a person repairs the key.
      throw new RetryableVendorError(
        `Redis key ${this.key} does not hold {"token","secret"}; delete it to re-seed from MANTAGO_TOKEN/MANTAGO_SECRET`,
        { vendor: MANTAGO },
      );
    }
    learnSecret(parsed.data.token); // a rotated pair is as secret as MANTAGO_TOKEN/MANTAGO_SECRET: redact it
    learnSecret(parsed.data.secret);
    return { ...parsed.data, id: pairId(parsed.data) };
  }

  /**
   * Replaces the pair `staleId` with `refresh(stale)`, once across all replicas. Resolves 'rotated' when this call
   * did the refresh, 'already-rotated' when the store moved past `staleId` meanwhile (another replica refreshed).
   * With `mayRefresh: false` it only waits for a rotation under way (MantaGO 120000: the vendor has rotated already).
   */
  async rotate(
    staleId: string,
    refresh: (stale: MantagoPair) => Promise<MantagoPair>,
    opts: { mayRefresh?: boolean } = {},
  ): Promise<'rotated' | 'already-rotated' | 'unchanged'> {
    const mayRefresh = opts.mayRefresh ?? true;
    const deadline = Date.now() + this.lockTtlMs + 5_000;
    for (;;) {
      if (mayRefresh) {
        const held = await this.lock.hold(async () => {
          // Re-check under the lock: the previous holder may have finished between our read and our lock.
          const pair = await this.current();
          if (pair.id !== staleId) return 'already-rotated' as const;
          const fresh = await refresh(pair);
          // MantaGO has retired the old pair: this one is the only pair that works now. Kept in memory until the
          // write succeeds (retried), and used by nobody before that.
          this.unstored = fresh;
          await this.flush(this.storeRetryMs);
          return 'rotated' as const;
        });
        if (held) return held.value;
      }
      // Another replica is refreshing: wait until it is done (lock gone) or the pair changed.
      while ((await this.redis.exists(this.lockKey)) === 1) {
        if ((await this.current()).id !== staleId) return 'already-rotated';
        if (Date.now() > deadline) {
          throw new RetryableVendorError('timed out waiting for another replica to refresh the MantaGO token', { vendor: MANTAGO });
        }
        await sleep(this.pollMs);
      }
      if ((await this.current()).id !== staleId) return 'already-rotated';
      // Lock gone, pair unchanged: the holder failed. Try it ourselves (bounded by the deadline), or give up.
      if (!mayRefresh || Date.now() > deadline) return 'unchanged';
    }
  }

  /**
   * Writes a refreshed pair that is not stored yet, retrying with backoff for up to `retryMs` (a Redis blip right
   * after the refresh answer must not lose the only working pair). Throws when it still could not be written; the
   * pair then stays in memory, and the next call (or close()) tries again.
   */
  async flush(retryMs = 0): Promise<void> {
    const pair = this.unstored;
    if (!pair) return;
    const giveUpAt = Date.now() + retryMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        // Unconditional write: MantaGO has retired every older pair.
        await this.redis.set(this.key, serialise(pair));
        if (this.unstored === pair) this.unstored = undefined;
        return;
      } catch (e) {
        if (Date.now() >= giveUpAt) {
          throw new RetryableVendorError(`the refreshed MantaGO pair could not be stored in Redis yet (${e instanceof Error ? e.message : String(e)}); kept in memory, retrying`, { vendor: MANTAGO });
        }
        await sleep(Math.min(wait, Math.max(0, giveUpAt - Date.now())));
      }
    }
  }

  /** True while a refreshed pair waits for its write (shutdown keeps trying it). */
  get holdsUnstoredPair(): boolean {
    return this.unstored !== undefined;
  }
}

/** Sets a pair every replica will use from now on (the operator's command after a lost pair). */
export async function storePair(redis: RedisConnection, key: string, pair: MantagoPair): Promise<string> {
  storedSchema.parse(pair);
  await redis.set(key, serialise(pair));
  return pairId(pair);
}

function serialise(pair: MantagoPair): string {
  return JSON.stringify({ token: pair.token, secret: pair.secret, storedAt: new Date().toISOString() });
}

function safeJson(text: string | null): unknown {
  if (text === null) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
