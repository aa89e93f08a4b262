import type { RedisConnection } from '../queues/connection.js';
import type { RateLimit } from '../config/duration.js';

/**
 * GCRA over Redis: one atomic script shared by every replica of a vendor's worker, counting vendor REQUESTS
 * (a batch of 100 recipients is one). Requests are spaced evenly by duration/max, so no window of `duration`
 * ever holds more than `max`. A caller reserves the next free slot (up to `horizon` ahead) and sleeps until it;
 * while the vendor is paused after a 429, nobody gets a slot.
 *
 * Returns ≥ 0: a slot is reserved, wait that many ms then send. < 0: nothing reserved, ask again after |n| ms.
 */
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = redis.call('PTTL', KEYS[2])
if paused > 0 then return -paused end
local interval = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
-- Redis truncates a Lua number reply to an integer: -0.4 would arrive as 0 ("granted") with nothing reserved.
if wait > horizon then return -math.ceil(wait - horizon) end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.floor(wait + interval + 1000))
return math.ceil(wait)
`;

/**
 * Lateness of one request (relative to the request `max` slots later) the spacing tolerates; at most 10 % of the
 * window. Between the slot and the wire a request now also writes its attempt marker (one more Redis round trip), and
 * on a loaded machine 50 ms (5 %) was measured too little: a strict vendor saw 6 requests in a second at 5/1s, once
 * per full test run. A 429 costs a whole Retry-After pause, far more than the 10 % of throughput given up here.
 */
const JITTER_GUARD_MS = 100;
const JITTER_GUARD_SHARE = 0.1;

/** The guard added to each window: requests are spaced (window + guard) / max apart. */
export function rateLimitGuardMs(windowMs: number): number {
  return Math.min(JITTER_GUARD_MS, windowMs * JITTER_GUARD_SHARE);
}

type ScriptedRedis = RedisConnection & { orderNotifyGcra(tat: string, pause: string, interval: number, horizon: number): Promise<number> };

export class VendorRateLimiter {
  private readonly redis: ScriptedRedis;
  private readonly intervalMs: number;
  private readonly horizonMs: number;
  private readonly lateToleranceMs: number;
  private readonly tatKey: string;
  private readonly pauseKey: string;

  constructor(redis: RedisConnection, prefix: string, vendor: string, limit: RateLimit) {
    if (!('orderNotifyGcra' in redis)) redis.defineCommand('orderNotifyGcra', { numberOfKeys: 2, lua: GCRA });
    this.redis = redis as ScriptedRedis;
    // Spacing of exactly duration/max lets a vendor that counts a strict sliding window see max+1 requests when an
    // earlier request left a few ms late (timers, event loop): measured 11 in 1 s at 10/1s. A small guard absorbs it.
    const guardMs = rateLimitGuardMs(limit.durationMs);
    this.intervalMs = (limit.durationMs + guardMs) / limit.max;
    // A caller that wakes up later than this (a busy event loop) gives its slot up: sending late would use up the guard.
    this.lateToleranceMs = guardMs / 2;
    // Reserve at most about a second ahead, so a crash wastes little of the budget.
    this.horizonMs = Math.max(1_000, 2 * this.intervalMs);
    this.tatKey = `${prefix}:ratelimit:${vendor}`;
    this.pauseKey = vendorPauseKey(prefix, vendor);
  }

  /** Resolves when this process may send one request. */
  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const answer = Number(await this.redis.orderNotifyGcra(this.tatKey, this.pauseKey, this.intervalMs, this.horizonMs));
      if (answer === 0) return;
      const due = Date.now() + Math.abs(answer);
      await sleep(Math.abs(answer));
      if (answer < 0) continue;
      // The slot stays reserved either way, so giving it up never lets anyone else crowd the window.
      if (Date.now() - due > this.lateToleranceMs) continue;
      // A slot reserved ahead may fall inside a pause that a 429 started meanwhile: then give it up and queue again.
      if ((await this.redis.pttl(this.pauseKey)) <= 0) return;
    }
  }

  /** After a 429: nobody sends to this vendor for `ms` (longer pauses win). */
  async pause(ms: number): Promise<void> {
    const current = await this.redis.pttl(this.pauseKey);
    if (current < ms) await this.redis.set(this.pauseKey, '1', 'PX', Math.max(1, Math.round(ms)));
  }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** Present (with a TTL) while a 429 pauses this vendor; the timeline page reads it too. */
export function vendorPauseKey(prefix: string, vendor: string): string {
  return `${prefix}:ratelimit:${vendor}:pause`;
}
