import type { RedisConnection } from '../queues/connection.js';

/**
 * When each vendor was paused by a 429, for the last hour (the timeline page's health strip; Prometheus has the
 * same count per process as order_notify_rate_limited_total). A sorted set by time: one key per vendor, trimmed on
 * every write, so it stays as small as an hour of 429s.
 */
const WINDOW_MS = 3_600_000;

export function pauseLogKey(prefix: string, vendor: string): string {
  return `${prefix}:ratelimit:${vendor}:pauses`;
}

export async function logPause(redis: RedisConnection, prefix: string, vendor: string, pauseMs: number, now = Date.now()): Promise<void> {
  const key = pauseLogKey(prefix, vendor);
  await redis.pipeline()
    .zadd(key, now, `${now}:${Math.round(pauseMs)}:${Math.random().toString(36).slice(2, 8)}`)
    .zremrangebyscore(key, '-inf', now - WINDOW_MS)
    .pexpire(key, WINDOW_MS)
    .exec();
}

/** Pause start times (epoch ms) within the last hour. */
export async function recentPauses(redis: RedisConnection, prefix: string, vendor: string, now = Date.now()): Promise<number[]> {
  const raw = await redis.zrangebyscore(pauseLogKey(prefix, vendor), now - WINDOW_MS, '+inf');
  return raw.map((m) => Number(m.split(':')[0])).filter(Number.isFinite);
}
