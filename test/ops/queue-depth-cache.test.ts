import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { QueueDepthGauges } from '../../src/observability/queue-depth.js';
import { keyspace } from '../../src/queues/keyspace.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { QUEUES } from '../../src/queues/names.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const due = (text: string, queue: string) => Number(new RegExp(`^order_notify_queue_jobs_due\\{queue="${queue}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
const waiting = (text: string) => Number(/^order_notify_queue_jobs\{queue="orders",state="waiting"\} (\d+)$/m.exec(text)?.[1]);

describe('queue counts on /metrics', () => {
  let redis: TestRedis;
  let connection: RedisConnection;
  let orders: Queue;
  const prefix = 'qd';
  beforeAll(async () => {
    redis = await startRedis();
    connection = createRedis({ url: redis.url }, 'worker');
    orders = new Queue(QUEUES.orders, { connection: { url: redis.url }, prefix });
  });
  afterAll(async () => {
    await orders?.close();
    connection?.disconnect();
    await redis?.stop();
  });

  it('are read from Redis at most once per max age: scrapes in between (and concurrent ones) share the last read', async () => {
    const metrics = new Metrics();
    const gauges = new QueueDepthGauges(metrics, connection, keyspace(prefix), undefined, 60_000);
    let reads = 0;
    const refresh = gauges.refresh.bind(gauges);
    gauges.refresh = async (t?: number) => { reads++; return refresh(t); };
    try {
      await Promise.all([metrics.scrape(), metrics.scrape(), metrics.scrape()]);
      expect(reads).toBe(1);
      await orders.add('x', {});
      expect(waiting(await metrics.scrape())).toBe(0); // cached: the new job shows after the max age
      expect(reads).toBe(1);
    } finally {
      await gauges.close();
    }
    const fresh = new Metrics();
    const uncached = new QueueDepthGauges(fresh, connection, keyspace(prefix), undefined, 0);
    expect(waiting(await fresh.scrape())).toBe(1);
    await uncached.close();
  });

  it('counts as due what a worker should take within the horizon: waiting + delayed due soon, not delayed for later', async () => {
    const dueQueue = new Queue(QUEUES.orders, { connection: { url: redis.url }, prefix: 'qdue' });
    const metrics = new Metrics();
    const gauges = new QueueDepthGauges(metrics, connection, keyspace('qdue'), [QUEUES.orders], 0);
    try {
      await dueQueue.add('now', {});
      await dueQueue.add('retry-soon', {}, { delay: 5_000 });
      await dueQueue.add('tomorrow', {}, { delay: 86_400_000 });
      const text = await metrics.scrape();
      expect(due(text, QUEUES.orders)).toBe(2);
      expect(text).toMatch(/order_notify_queue_jobs\{queue="orders",state="delayed"\} 2/);
    } finally {
      await gauges.close();
      await dueQueue.close();
    }
  });
});
