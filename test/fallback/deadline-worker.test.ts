import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FallbackChains } from '../../src/fallback/chains.js';
import { createDeadlineWorker } from '../../src/fallback/deadline-worker.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { JOB_NAMES, QUEUES } from '../../src/queues/names.js';
import { testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

describe('fallback deadline worker', () => {
  let redis: TestRedis;
  let conn: RedisConnection;
  beforeAll(async () => {
    redis = await startRedis();
    conn = createRedis({ url: redis.url }, 'worker');
  });
  afterAll(async () => {
    conn?.disconnect();
    await redis?.stop();
  });

  it('fails a malformed job at once with a reason naming the field, and shrugs at a check for an unknown chain', async () => {
    const config = testConfig(redis.url);
    const logger = pino({ level: 'silent' });
    const records = new OrderRecords(conn, config.queuePrefix, 60_000);
    const chains = new FallbackChains({ config, connection: conn, records, metrics: new Metrics({ defaultMetrics: false }), logger });
    const worker = createDeadlineWorker({ config, connection: conn, chains, logger });
    const queue = new Queue(QUEUES.fallbackDeadlines, { connection: conn, prefix: config.queuePrefix });
    try {
      const bad = await queue.add(JOB_NAMES.fallbackDeadline, { orderId: 'O', deliveryId: 'd', afterMs: 'soon' }, { attempts: 5 });
      const unknown = await queue.add(JOB_NAMES.fallbackDeadline, { orderId: 'O', deliveryId: 'wa.O', ruleId: 'wa', afterMs: 1000 });
      await waitFor(async () => (await bad.getState()) === 'failed' && (await unknown.getState()) === 'completed', 'both jobs done');
      const failed = (await queue.getJob(bad.id!))!;
      expect(failed.failedReason).toMatch(/ruleId: .*; afterMs: /);
      expect(failed.attemptsMade).toBe(1);
      expect((await queue.getJob(unknown.id!))!.returnvalue).toEqual({ action: 'unknown' });
    } finally {
      await worker.close(5_000);
      await queue.close();
      await chains.close();
    }
  });
});
