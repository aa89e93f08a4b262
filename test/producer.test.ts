import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer, InvalidEventError, RedisUnavailableError, type OrderNotifyProducer } from '../src/index.js';
import { QUEUES } from '../src/queues/names.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { sleep } from './support/wait.js';

const example = (orderId: string) => ({ ...JSON.parse(readFileSync('examples/order-paid.json', 'utf8')), orderId });

describe('producer (real Redis)', () => {
  let redis: TestRedis;
  let producer: OrderNotifyProducer;
  let queue: Queue;
  const prefix = 'ptest';

  beforeAll(async () => {
    redis = await startRedis();
    producer = createProducer({ redisUrl: redis.url, prefix });
    queue = new Queue(QUEUES.orders, { connection: redis.client(), prefix });
  });
  afterAll(async () => {
    await producer.close();
    await queue.close();
    await redis.stop();
  });

  it('enqueues an order.paid job with the validated event', async () => {
    const { jobId, duplicate } = await producer.orderPaid(example('P-1'));
    expect(duplicate).toBe(false);
    const job = await queue.getJob(jobId);
    expect(job?.name).toBe('order.paid');
    expect(job?.data.orderId).toBe('P-1');
    expect(job?.data.shopChannel).toBe('web');
  });

  it('is idempotent per order id: twice is one job, and still one after the job is removed', async () => {
    const first = await producer.orderPaid(example('P-2'));
    const second = await producer.orderPaid(example('P-2'));
    expect(second).toEqual({ jobId: first.jobId, duplicate: true });
    const all = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(all.filter((j) => j.data.orderId === 'P-2')).toHaveLength(1);

    await (await queue.getJob(first.jobId))!.remove();
    const third = await producer.orderPaid(example('P-2'));
    expect(third.duplicate).toBe(true);
    const after = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(after.filter((j) => j.data.orderId === 'P-2')).toHaveLength(0);
  });

  it('takes any order id string, including ":" , spaces, unicode and integer-looking ones', async () => {
    for (const id of ['shop:42:order', '12345', 'заказ №7', 'a/b?c=d&e', 'x'.repeat(200), 'dots.in.id']) {
      const r = await producer.orderPaid(example(id));
      expect(r.duplicate).toBe(false);
      expect(r.jobId).not.toContain(':');
      expect((await queue.getJob(r.jobId))?.data.orderId).toBe(id);
      expect((await producer.orderPaid(example(id))).duplicate).toBe(true);
    }
  });

  it('bulk: validates everything first, then enqueues with per-event duplicate flags', async () => {
    const bad = example('B-2');
    bad.total = 'lots';
    await expect(producer.orderPaidBulk([example('B-1'), bad])).rejects.toSatisfy((e: unknown) =>
      e instanceof InvalidEventError && e.fieldErrors.some((f) => f.field === '1.total'));
    expect((await queue.getJobs(['waiting'])).some((j) => j.data.orderId === 'B-1')).toBe(false);

    const results = await producer.orderPaidBulk([example('B-1'), example('B-3'), example('B-1')]);
    expect(results.map((r) => r.duplicate)).toEqual([false, false, true]);
    expect(results[2]!.jobId).toBe(results[0]!.jobId);
  });

  it('rejects an invalid event naming the field and enqueues nothing', async () => {
    const before = await queue.count();
    await expect(producer.orderPaid({ ...example('I-1'), currency: 'euro' })).rejects.toThrow(/currency: must be a 3-letter/);
    expect(await queue.count()).toBe(before);
  });

  it('fails fast when Redis is down and works again when it is back', async () => {
    const down = await startRedis();
    const p = createProducer({ redisUrl: down.url, prefix, timeoutMs: 1_000 });
    expect((await p.orderPaid(example('D-1'))).duplicate).toBe(false);
    await down.stop({ keepData: true });
    const started = Date.now();
    await expect(p.orderPaid(example('D-2'))).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(Date.now() - started).toBeLessThan(5_000); // a bound against hanging, not a performance goal
    await down.restart();
    const back = await (async () => {
      for (let i = 0; i < 100; i++) {
        try { return await p.orderPaid(example('D-2')); } catch { await sleep(100); }
      }
      throw new Error('producer did not recover');
    })();
    expect(back.duplicate).toBe(false);
    await p.close();
    await down.stop();
  });
});
