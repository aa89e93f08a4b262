import type { RedisConnection } from '../queues/connection.js';

/**
 * Which orders of a slice were seen. KEYS = the orders' idempotency keys, then their jobs' keys under the order's own
 * job id (same order); ARGV = now, window, settled (ms), then each order's own job id. Answers per order:
 * - the job id it was accepted as (its idempotency key exists): a duplicate;
 * - '' : new, to be added under its own job id;
 * - '=' : no idempotency key, but its job exists and is younger than the window: a duplicate (another producer is
 *   adding it right now, or one crashed between add and remember: once the job is older than `settled`, nobody is
 *   adding it any more and the key is written here, for what is left of the window);
 * - '~' : its job exists but is older than the window (kept as a failed job, or a window shorter than retention): a
 *   new event, added under a fresh id.
 */
const CHECK = `
local n = #KEYS / 2
local now, window, settled = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for i = 1, n do
  local seen = redis.call('GET', KEYS[i])
  if seen then
    out[i] = seen
  else
    local ts = tonumber(redis.call('HGET', KEYS[n + i], 'timestamp'))
    if not ts then
      out[i] = ''
    elseif now - ts >= window then
      out[i] = '~'
    else
      out[i] = '='
      if now - ts >= settled then redis.call('SET', KEYS[i], ARGV[3 + i], 'PX', window - (now - ts), 'NX') end
    end
  end
end
return out
`;

/**
 * SET NX each order's key to its job id for the window; answers 1 where this call set it, else the id it holds (the
 * order was remembered by a concurrent call first). KEYS = the orders' keys; ARGV[1] = window (ms), ARGV[1 + i] =
 * the job id of KEYS[i]. One script call per slice instead of one SET per order.
 */
const REMEMBER = `
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1], 'NX') then out[i] = 1 else out[i] = redis.call('GET', key) or 0 end
end
return out
`;

type ScriptedRedis = RedisConnection & {
  orderNotifyCheckSeen(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  orderNotifyRememberSeen(numKeys: number, ...args: Array<string | number>): Promise<Array<number | string>>;
};

/** How old an order's job must be before a check takes over remembering it for a producer that never did (crashed). */
const SETTLED_MS = 60_000;

/**
 * The producer's own record of the orders it accepted, kept for the whole idempotency window. BullMQ forgets an
 * order when its job is removed (by hand, by queue.clean(), by retention); these keys do not. They live beside the
 * orders queue (same hash tag on a cluster as the queue's jobs), so one script covers a whole slice.
 */
export class SeenOrders {
  private readonly redis: ScriptedRedis;

  constructor(redis: RedisConnection, private readonly prefix: string, private readonly windowMs: number) {
    if (!('orderNotifyCheckSeen' in redis)) redis.defineCommand('orderNotifyCheckSeen', { lua: CHECK });
    if (!('orderNotifyRememberSeen' in redis)) redis.defineCommand('orderNotifyRememberSeen', { lua: REMEMBER });
    this.redis = redis as ScriptedRedis;
  }

  /** The key of an order, by its deduplication id (orderDedupId: the order id made safe for key names). */
  key(dedupId: string): string {
    return `${this.prefix}:seen:${dedupId}`;
  }

  /** Per order: its job id if seen, '' new, '=' its own job exists (a duplicate), '~' its own job is older than the window. */
  check(keys: string[], jobKeys: string[], jobIds: string[]): Promise<string[]> {
    return this.redis.orderNotifyCheckSeen(keys.length * 2, ...keys, ...jobKeys, Date.now(), this.windowMs, SETTLED_MS, ...jobIds);
  }

  /** Written only after the jobs were added. Per order: 1 = remembered by this call, else the job id already held. */
  async remember(keys: string[], jobIds: string[]): Promise<Array<number | string>> {
    return keys.length ? this.redis.orderNotifyRememberSeen(keys.length, ...keys, this.windowMs, ...jobIds) : [];
  }
}
