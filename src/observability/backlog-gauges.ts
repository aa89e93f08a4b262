import { PendingMessages } from '../vendors/twin24/correlation/pending.js';
import { vendorPauseKey } from '../delivery/rate-limiter.js';
import type { RedisConnection } from '../queues/connection.js';
import type { Keyspace } from '../queues/keyspace.js';
import { vendorGroup } from '../queues/names.js';
import { VENDORS } from '../vendors/registry.js';
import type { Metrics } from './metrics.js';

/**
 * Scrape-time gauges for the alerts that queue counts cannot answer: is a vendor paused by a 429 right now, and how
 * far behind is the Twin24 correlator (pending messages and the age of the oldest). Read from Redis with the queue
 * depths (QueueDepthGauges decides how often).
 */
export async function refreshBacklogGauges(metrics: Metrics, redis: RedisConnection, keys: Keyspace, now = Date.now()): Promise<void> {
  const pending = new PendingMessages(redis, keys.beside(vendorGroup('twin24')));
  const pauses = await Promise.all(VENDORS.map(async (vendor) => [vendor, await redis.pttl(vendorPauseKey(keys.beside(vendorGroup(vendor)), vendor))] as const));
  const [count, oldest] = await Promise.all([pending.count(), redis.zrange(pending.indexKey, 0, 0, 'WITHSCORES')]);
  // PTTL is -2 (no key) or -1 (no expiry: never set by us) when there is no pause to wait out.
  for (const [vendor, ms] of pauses) metrics.vendorPausedSeconds.set({ vendor }, ms > 0 ? ms / 1_000 : 0);
  metrics.correlationPending.set(count);
  const sentAt = oldest.length === 2 ? Number(oldest[1]) : NaN;
  metrics.correlationOldestPendingSeconds.set(Number.isFinite(sentAt) ? Math.max(0, (now - sentAt) / 1_000) : 0);
}
