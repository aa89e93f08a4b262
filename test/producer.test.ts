import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer, InvalidEventError, RedisUnavailableError, type OrderNotifyProducer } from '../src/index.js';
import { QUEUES } from '../src/queues/names.js';
import { EVENTS_MAX_LEN } from '../src/queues/options.js';
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

    // The default (single) layout keeps the key name of every earlier release, so an upgrade keeps its window.
    expect(await redis.client().get(`${prefix}:orders:seen:order.P-2`)).toBe(first.jobId);
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

  it('bulk: reports every bad event by index and field, and a non-array as such', async () => {
    const before = await queue.count();
    const inputs = Array.from({ length: 600 }, (_, i) => example(`V-${i}`));
    inputs[3].currency = 'euro';
    inputs[512].items = [];
    const error = await producer.orderPaidBulk(inputs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).fieldErrors.map((f) => f.field)).toEqual(['3.currency', '512.items']);
    expect((error as Error).message).toMatch(/3\.currency: must be a 3-letter/);
    expect(await queue.count()).toBe(before);
    await expect(producer.orderPaidBulk({ orderId: 'x' } as unknown as unknown[])).rejects.toBeInstanceOf(InvalidEventError);
  });

  it('bulk: a call larger than one slice keeps input order, duplicates in and across calls, and the window after removal', async () => {
    const ids = Array.from({ length: 700 }, (_, i) => `L-${i}`);
    const first = await producer.orderPaidBulk([...ids, 'L-5', 'L-650'].map(example));
    expect(first.filter((r) => r.duplicate)).toHaveLength(2);
    expect(first[700]).toEqual({ jobId: first[5]!.jobId, duplicate: true });
    expect(first[701]).toEqual({ jobId: first[650]!.jobId, duplicate: true });
    const jobs = await Promise.all(first.slice(0, 700).map((r) => queue.getJob(r.jobId)));
    expect(jobs.map((j) => j?.data.orderId)).toEqual(ids);

    await (await queue.getJob(first[400]!.jobId))!.remove();
    const again = await producer.orderPaidBulk([example('L-400'), example('L-699'), example('L-new')]);
    expect(again.slice(0, 2)).toEqual([{ jobId: first[400]!.jobId, duplicate: true }, { jobId: first[699]!.jobId, duplicate: true }]);
    expect(again[2]!.duplicate).toBe(false);
    expect((await queue.getJobs(['waiting'])).filter((j) => j.data.orderId === 'L-400')).toHaveLength(0);
  });

  it('two producers enqueueing the same orders at once make one job per order, and exactly one call says new', async () => {
    const other = createProducer({ redisUrl: redis.url, prefix });
    try {
      const ids = Array.from({ length: 300 }, (_, i) => `C-${i}`);
      const [a, b] = await Promise.all([producer.orderPaidBulk(ids.map(example)), other.orderPaidBulk([...ids].reverse().map(example))]);
      const bByOrder = [...b].reverse();
      ids.forEach((_, i) => {
        expect(a[i]!.jobId).toBe(bByOrder[i]!.jobId);
        expect([a[i]!.duplicate, bByOrder[i]!.duplicate].filter((d) => !d)).toHaveLength(1);
      });
      const jobs = await queue.getJobs(['waiting']);
      expect(jobs.filter((j) => j.data.orderId.startsWith('C-'))).toHaveLength(300);
    } finally {
      await other.close();
    }
  });

  it('an order whose job was added but not remembered (producer crashed in between) is still one job', async () => {
    // What a crash between the add and the idempotency key leaves: the order's job under its own id, no key.
    const crashed = (await producer.orderPaid(example('X-1'))).jobId;
    await redis.client().del(`${prefix}:orders:seen:order.X-1`);
    expect(await producer.orderPaid(example('X-1'))).toEqual({ jobId: crashed, duplicate: true });
    expect((await queue.getJobs(['waiting'])).filter((j) => j.data.orderId === 'X-1')).toHaveLength(1);
  });

  it('after the window an order is a new event, even while its old job is still kept', async () => {
    const short = createProducer({ redisUrl: redis.url, prefix, idempotencyWindowMs: 300 });
    try {
      const first = await short.orderPaid(example('W-1'));
      expect((await short.orderPaid(example('W-1'))).duplicate).toBe(true);
      await sleep(400);
      const [again, copy] = await short.orderPaidBulk([example('W-1'), example('W-1')]);
      expect(again!.duplicate).toBe(false);
      expect(again!.jobId).not.toBe(first.jobId);
      expect(copy).toEqual({ jobId: again!.jobId, duplicate: true });
      expect(await short.orderPaid(example('W-1'))).toEqual({ jobId: again!.jobId, duplicate: true });
      expect((await queue.getJobs(['waiting'])).filter((j) => j.data.orderId === 'W-1')).toHaveLength(2);
    } finally {
      await short.close();
    }
  });

  it('rejects an invalid event naming the field and enqueues nothing', async () => {
    const before = await queue.count();
    await expect(producer.orderPaid({ ...example('I-1'), currency: 'euro' })).rejects.toThrow(/currency: must be a 3-letter/);
    expect(await queue.count()).toBe(before);
  });

  it('per-queue key layout: the orders queue and the idempotency keys share the orders hash tag', async () => {
    const p = createProducer({ redisUrl: redis.url, prefix: 'kl', keyLayout: 'per-queue' });
    const [a, b] = await p.orderPaidBulk([example('K-1'), example('K-2')]);
    // The producer opens the orders queue with the workers' event-stream cap, not BullMQ's default of 10,000.
    expect(await redis.client().hget('kl:{orders}:orders:meta', 'opts.maxLenEvents')).toBe(String(EVENTS_MAX_LEN));
    const tagged = new Queue(QUEUES.orders, { connection: redis.client(), prefix: 'kl:{orders}' });
    try {
      expect((await tagged.getJob(a!.jobId))?.data.orderId).toBe('K-1');
      expect(await redis.client().keys('kl:*seen*')).toEqual(expect.arrayContaining(['kl:{orders}:orders:seen:order.K-1', 'kl:{orders}:orders:seen:order.K-2']));
      expect(await redis.client().get('kl:{orders}:orders:seen:order.K-2')).toBe(b!.jobId);
      await (await tagged.getJob(a!.jobId))!.remove();
      expect(await p.orderPaid(example('K-1'))).toEqual({ jobId: a!.jobId, duplicate: true });
    } finally {
      await p.close();
      await tagged.close();
    }
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
