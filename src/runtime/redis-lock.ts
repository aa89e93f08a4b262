import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../queues/connection.js';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** Writes KEYS[2] only while KEYS[1] (the lock) is still ours: a holder whose lock expired must not overwrite. */
const SET_IF_OWNER = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2]) return 1 end return 0`;

/**
 * A single-holder Redis lock (SET NX PX + compare-and-delete). Each `hold` gets its own owner id, so a holder
 * whose lock expired and was taken over can neither release nor write on the new holder's behalf.
 * With a Redis Cluster the queue prefix carries a {tag}, so the lock and the guarded key share a slot.
 */
export class RedisLock {
  constructor(private readonly redis: RedisConnection, readonly key: string, private readonly ttlMs: number) {}

  /** Runs `work` holding the lock and returns its result, or returns undefined at once when someone else holds it. */
  async hold<T>(work: (owner: LockOwner) => Promise<T>): Promise<{ value: T } | undefined> {
    const id = randomUUID();
    const got = await this.redis.set(this.key, id, 'PX', this.ttlMs, 'NX');
    if (got !== 'OK') return undefined;
    const owner: LockOwner = {
      setIfOwner: async (key, value) => Number(await this.redis.eval(SET_IF_OWNER, 2, this.key, key, id, value)) === 1,
    };
    try {
      return { value: await work(owner) };
    } finally {
      await this.redis.eval(RELEASE, 1, this.key, id).catch(() => undefined); // it expires by itself anyway
    }
  }
}

export interface LockOwner {
  /** SET key value, only if the lock is still held by this owner; false when it was lost (nothing written). */
  setIfOwner(key: string, value: string): Promise<boolean>;
}
