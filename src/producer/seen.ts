import type { RedisConnection } from '../queues/connection.js';

/**
 * SET NX each order's key to its job id for the idempotency window. One script call per slice of orders instead of
 * one SET per order: fewer commands for Redis to parse and one promise instead of hundreds in the producer.
 * KEYS = the orders' keys; ARGV[1] = window in ms, ARGV[1 + i] = the job id of KEYS[i].
 */
const REMEMBER = `
local ttl = ARGV[1]
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[i + 1], 'PX', ttl, 'NX')
end
return #KEYS
`;

type ScriptedRedis = RedisConnection & { orderNotifyRememberSeen(numKeys: number, ...args: Array<string | number>): Promise<number> };

/**
 * The producer's own record of the orders it accepted, kept for the whole idempotency window. BullMQ's
 * deduplication forgets an order when its job is removed (by hand or by queue.clean()); these keys do not.
 * They live beside the orders queue (same hash tag on a cluster), so one script may write a whole slice.
 */
export class SeenOrders {
  private readonly redis: ScriptedRedis;

  constructor(redis: RedisConnection, private readonly prefix: string, private readonly windowMs: number) {
    if (!('orderNotifyRememberSeen' in redis)) redis.defineCommand('orderNotifyRememberSeen', { lua: REMEMBER });
    this.redis = redis as ScriptedRedis;
  }

  /** The key of an order, by its deduplication id (orderDedupId: the order id made safe for key names). */
  key(dedupId: string): string {
    return `${this.prefix}:seen:${dedupId}`;
  }

  /** The job id each order was enqueued as within the window, or null. */
  check(keys: string[]): Promise<Array<string | null>> {
    return this.redis.mget(keys);
  }

  /** Written only after the jobs were added: a crash in between is still covered by BullMQ's deduplication key. */
  async remember(keys: string[], jobIds: string[]): Promise<void> {
    if (keys.length) await this.redis.orderNotifyRememberSeen(keys.length, ...keys, this.windowMs, ...jobIds);
  }
}
