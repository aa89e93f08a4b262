import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Metrics } from '../src/observability/metrics.js';
import { createResultsHandback, notificationsOf, toNotification } from '../src/orders/handback.js';
import { OrderRecords } from '../src/orders/record.js';
import { QUEUES } from '../src/queues/names.js';
import { createLogger } from '../src/runtime/logger.js';
import { testConfig } from './support/config.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { sleep } from './support/wait.js';

/** Bounded memory of the hand-back: nobody may consume the results queue. */
describe('results queue cap (real Redis)', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis.stop(); });
  const logger = createLogger({ level: 'silent' });

  async function changes(records: OrderRecords, from: number, n: number) {
    for (let i = from; i < from + n; i++) await records.update(`O-${i}`, `m.O-${i}`, { vendor: 'metabot', ruleId: 'm', status: 'sent' });
  }

  it('trims the oldest waiting results above RESULTS_QUEUE_MAX and counts them', async () => {
    const config = testConfig(redis.url, { RESULTS_QUEUE_MAX: '5' });
    const metrics = new Metrics({ defaultMetrics: false });
    const connection = redis.client();
    const records = new OrderRecords(connection, config.queuePrefix, 60_000);
    const handback = createResultsHandback({ config: { ...config, results: { ...config.results, batchMax: 1 } }, connection, logger, metrics, records });
    records.onChange(handback.listener);
    // One job per change (RESULTS_BATCH_MAX=1), relayed one change at a time: the first relay checks (1 ≤ 5), the
    // rest fall inside the 1 s check interval.
    for (let i = 0; i < 12; i++) { await changes(records, i, 1); await handback.relay!.drain(`${config.queuePrefix}`); }
    await sleep(1_100);
    await changes(records, 12, 1); // 13 waiting → trimmed to 5
    await handback.relay!.drain(config.queuePrefix);
    const queue = new Queue(QUEUES.results, { connection, prefix: config.queuePrefix });
    const waiting = await queue.getJobs(['wait'], 0, -1, true);
    expect(waiting.map((j) => (j.data as { orderId: string }).orderId)).toEqual(['O-8', 'O-9', 'O-10', 'O-11', 'O-12']);
    expect((await metrics.resultsTrimmed.get()).values[0]?.value).toBe(8);
    await queue.close();
    await handback.close();
  });

  it('RESULTS_QUEUE_ENABLED=false: no results jobs at all, the record still holds every status', async () => {
    const config = testConfig(redis.url, { RESULTS_QUEUE_ENABLED: 'false' });
    const connection = redis.client();
    const records = new OrderRecords(connection, config.queuePrefix, 60_000);
    const handback = createResultsHandback({ config, connection, logger, records });
    records.onChange(handback.listener);
    await changes(records, 0, 3);
    expect(handback.resultsQueue).toBeUndefined();
    expect(await connection.keys(`${config.queuePrefix}:${QUEUES.results}:*`)).toEqual([]);
    expect((await records.getDelivery('O-2', 'm.O-2'))?.status).toBe('sent');
    await handback.close();
  });

  it('counts the cap in status changes when they are batched: RESULTS_QUEUE_MAX / RESULTS_BATCH_MAX jobs', async () => {
    const config = testConfig(redis.url, { RESULTS_QUEUE_MAX: '20', RESULTS_BATCH_MAX: '10' });
    const metrics = new Metrics({ defaultMetrics: false });
    const connection = redis.client();
    // The record script queues each change itself; no listener pokes the relay, so each drain below is one job.
    const records = new OrderRecords(connection, config.queuePrefix, 60_000, [], { notification: toNotification });
    const handback = createResultsHandback({ config, connection, logger, metrics, records });
    // Five jobs of 10 changes; the first relay checks (1 job ≤ 2), the next four fall inside the 1 s check interval.
    for (let i = 0; i < 5; i++) { await changes(records, 100 + i * 10, 10); await handback.relay!.drain(config.queuePrefix); }
    await sleep(1_100);
    await changes(records, 200, 10);
    await handback.relay!.drain(config.queuePrefix); // 6 jobs waiting → trimmed to 2 (20 changes)
    const queue = new Queue(QUEUES.results, { connection, prefix: config.queuePrefix });
    const waiting = await queue.getJobs(['wait'], 0, -1, true);
    expect(waiting.flatMap((j) => notificationsOf(j.data)).map((n) => n.orderId)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `O-${140 + i}`), ...Array.from({ length: 10 }, (_, i) => `O-${200 + i}`),
    ]);
    expect((await metrics.resultsTrimmed.get()).values[0]?.value).toBe(4);
    await queue.close();
    await handback.close();
  });
});
