import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FallbackChains } from '../../src/fallback/chains.js';
import { createDeadlineWorker } from '../../src/fallback/deadline-worker.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { deliveryQueueName, JOB_NAMES, QUEUES } from '../../src/queues/names.js';
import { testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor, sleep } from '../support/wait.js';

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

  it('the sweep finishes a decision to fire whose process died before adding the job', async () => {
    const config = testConfig(redis.url);
    const logger = pino({ level: 'silent' });
    const records = new OrderRecords(conn, config.queuePrefix, 60_000);
    const chains = new FallbackChains({ config, connection: conn, records, metrics: new Metrics({ defaultMetrics: false }), logger, fireLeaseMs: 100 });
    const mantago = new Queue(deliveryQueueName('mantago'), { connection: conn, prefix: config.queuePrefix });
    try {
      const member = (step: number, rule: string, vendor: string) => ({ head: 'wa', link: step, step, rule, vendor, deliveryId: `${rule}.S-1`, reports: step === 0 });
      const job = (rule: string, vendor: string) => ({ job: { deliveryId: `${rule}.S-1`, orderId: 'S-1', ruleId: rule, vendor, payload: { platform: 'line', clientIds: ['U1'], message: 'hi' }, createdAt: 'x' }, delayMs: 0 });
      await chains.store.init('S-1', 'wa', [member(0, 'wa', 'twin24'), member(1, 'ln', 'mantago')], [job('wa', 'twin24'), job('ln', 'mantago')]);
      // The decider "dies": the script said fire, nothing else happened.
      expect((await chains.store.event('S-1', 'wa.S-1', 'failed', 'wa: undelivered'))?.action).toBe('fire');
      expect(await chains.sweep()).toBe(0); // lease not over yet
      await sleep(150);
      expect(await chains.sweep()).toBe(1);
      expect(await (await mantago.getJob('ln.S-1'))?.getState()).toBe('waiting');
      expect((await records.getDelivery('S-1', 'ln.S-1'))).toMatchObject({ status: 'queued', chain: { head: 'wa', link: 1, firedBecause: 'wa: undelivered' } });
      expect(await conn.zcard(chains.store.pendingKey)).toBe(0);
      await sleep(150);
      expect(await chains.sweep()).toBe(0);
    } finally {
      await mantago.close();
      await chains.close();
    }
  });
});
