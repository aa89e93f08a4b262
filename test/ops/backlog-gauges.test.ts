import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingMessages } from '../../src/vendors/twin24/correlation/pending.js';
import { VendorRateLimiter } from '../../src/delivery/rate-limiter.js';
import { DROPPED_DEFAULT_METRICS, Metrics } from '../../src/observability/metrics.js';
import { QueueDepthGauges } from '../../src/observability/queue-depth.js';
import { keyspace } from '../../src/queues/keyspace.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { parseExposition, valueOf } from './fixtures/exposition.js';

/** The scrape-time gauges behind the dashboard's queue-age panel and the vendor-paused / correlator-behind alerts. */
describe('queue age, vendor pause and correlator backlog gauges', () => {
  let redis: TestRedis;
  let connection: RedisConnection;
  let queue: Queue;
  let gauges: QueueDepthGauges;
  const metrics = new Metrics();
  const prefix = 'gauges-test';

  beforeAll(async () => {
    redis = await startRedis();
    connection = createRedis(testConfig(redis.url).redis, 'worker');
    queue = new Queue('deliver-metabot', { connection, prefix });
    // Max age 0: every scrape reads Redis, so each test sees what it just wrote.
    gauges = new QueueDepthGauges(metrics, connection, keyspace(prefix), undefined, 0);
  });
  afterAll(async () => {
    await gauges?.close();
    await queue?.close();
    connection?.disconnect();
    await redis?.stop();
  });

  const scrape = async () => parseExposition(await metrics.scrape());

  it('reads zeros from an empty Redis', async () => {
    const m = await scrape();
    expect(valueOf(m, 'order_notify_queue_oldest_waiting_age_seconds', { queue: 'deliver-metabot' })).toBe(0);
    expect(valueOf(m, 'order_notify_vendor_paused_seconds', { vendor: 'metabot' })).toBe(0);
    expect(valueOf(m, 'order_notify_correlation_pending')).toBe(0);
    expect(valueOf(m, 'order_notify_correlation_oldest_pending_age_seconds')).toBe(0);
    expect(valueOf(m, 'order_notify_redis_up')).toBe(1);
  });

  it('reports the oldest waiting job, a 429 pause and the oldest pending Twin24 message', async () => {
    const now = Date.now();
    // The gauge reports the job at the head of the line (the next one a worker takes, FIFO): 'a', added first.
    // Its created timestamp says 30 s; 'b' claims an older timestamp but queued behind it, and 'c' is the tail.
    await queue.add('delivery', { n: 1 }, { jobId: 'a', timestamp: now - 30_000 });
    await queue.add('delivery', { n: 2 }, { jobId: 'b', timestamp: now - 90_000 });
    await queue.add('delivery', { n: 3 }, { jobId: 'c', timestamp: now - 5_000 });
    await new VendorRateLimiter(connection, prefix, 'metabot', { max: 10, durationMs: 1_000 }).pause(60_000);
    const pending = new PendingMessages(connection, prefix);
    await pending.add([
      { messageId: 'm1', deliveryId: 'd1', orderId: 'A-1', ruleId: 'r', sentAt: now - 600_000 },
      { messageId: 'm2', deliveryId: 'd2', orderId: 'A-2', ruleId: 'r', sentAt: now - 10_000 },
    ]);

    const m = await scrape();
    const age = valueOf(m, 'order_notify_queue_oldest_waiting_age_seconds', { queue: 'deliver-metabot' })!;
    expect(age).toBeGreaterThanOrEqual(30);
    expect(age).toBeLessThan(60);
    expect(valueOf(m, 'order_notify_queue_jobs', { queue: 'deliver-metabot', state: 'waiting' })).toBe(3);
    const paused = valueOf(m, 'order_notify_vendor_paused_seconds', { vendor: 'metabot' })!;
    expect(paused).toBeGreaterThan(55);
    expect(paused).toBeLessThanOrEqual(60);
    expect(valueOf(m, 'order_notify_vendor_paused_seconds', { vendor: 'mantago' })).toBe(0);
    expect(valueOf(m, 'order_notify_correlation_pending')).toBe(2);
    const lag = valueOf(m, 'order_notify_correlation_oldest_pending_age_seconds')!;
    expect(lag).toBeGreaterThanOrEqual(600);
    expect(lag).toBeLessThan(660);
  });

  it('leaves out the default gauges whose _total names break the counter rule, keeping the per-type ones', async () => {
    const m = await scrape();
    for (const name of DROPPED_DEFAULT_METRICS) expect(m.has(name), name).toBe(false);
    expect(m.get('nodejs_active_handles')?.type).toBe('gauge');
    for (const [name, family] of m) if (name.endsWith('_total')) expect(family.type, name).toBe('counter');
  });
});
