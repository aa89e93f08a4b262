import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  AuthExpiredVendorError, PermanentVendorError, RateLimitedVendorError, RetryableVendorError,
} from '../src/delivery/errors.js';
import type { Delivery, SendOutcome, VendorAdapter } from '../src/delivery/types.js';
import { createVendorDeliveryWorker, type DeliveryWorker } from '../src/app/delivery-worker.js';
import { VendorRateLimiter } from '../src/delivery/rate-limiter.js';
import { Metrics } from '../src/observability/metrics.js';
import { OrderRecords } from '../src/orders/record.js';
import { createRedis } from '../src/queues/connection.js';
import type { MantagoPayload } from '../src/vendors/mantago/payload.js';
import { testConfig } from './support/config.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { waitFor } from './support/wait.js';

type Script = (batch: Array<Delivery<MantagoPayload>>, call: number) => Promise<SendOutcome[]> | SendOutcome[];

/** A scripted stand-in for a vendor: the generic machine is tested without HTTP. */
class FakeAdapter implements VendorAdapter<MantagoPayload> {
  calls: Array<Array<Delivery<MantagoPayload>>> = [];
  refreshes = 0;
  constructor(public script: Script, public maxBatch = 1, public lingerMs = 0) {}
  batchKey = (p: MantagoPayload) => p.intentId;
  async send(batch: Array<Delivery<MantagoPayload>>) {
    this.calls.push(batch);
    return this.script(batch, this.calls.length);
  }
  async refreshAuth() { this.refreshes++; }
}
const ok: Script = (batch) => batch.map((d) => ({ ok: true, vendorMessageId: `m-${d.deliveryId}` }));
const E = { vendor: 'mantago' };

describe('generic delivery worker (real Redis, fake vendor)', () => {
  let redis: TestRedis;
  let running: DeliveryWorker | undefined;
  let connection: ReturnType<typeof createRedis> | undefined;
  beforeAll(async () => { redis = await startRedis(); });
  afterEach(async () => {
    await running?.close(2_000);
    connection?.disconnect();
    running = undefined;
  });
  afterAll(async () => { await redis.stop(); });

  function start(adapter: FakeAdapter, env: Record<string, string> = {}) {
    const config = testConfig(redis.url, { DELIVERY_ATTEMPTS: '4', ...env });
    connection = createRedis(config.redis, 'worker');
    const records = new OrderRecords(connection, config.queuePrefix, 60_000);
    running = createVendorDeliveryWorker({ vendor: 'mantago', config, connection, records, metrics: new Metrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }), adapter });
    const queue = running.queue;
    const add = (n: number, intent = 'intent-a') => queue.addBulk(Array.from({ length: n }, (_, i) => ({
      name: 'delivery',
      data: { deliveryId: `r.O-${i}`, orderId: `O-${i}`, ruleId: 'r', vendor: 'mantago', createdAt: new Date().toISOString(), payload: { platform: 'line', clientIds: [`c${i}`], intentId: intent } },
      opts: { jobId: `r.O-${i}` },
    })));
    return { queue, records, add, config };
  }
  const finished = (queue: Queue, n: number) => waitFor(async () => {
    const c = await queue.getJobCounts('completed', 'failed');
    return (c.completed ?? 0) + (c.failed ?? 0) >= n && c;
  }, `${n} finished jobs`);

  it('sends, records the vendor id and marks the order record sent', async () => {
    const adapter = new FakeAdapter(ok);
    const { queue, add, records } = start(adapter);
    await add(1);
    await finished(queue, 1);
    const job = await queue.getJob('r.O-0');
    expect(job?.returnvalue).toEqual({ vendorMessageId: 'm-r.O-0' });
    expect(await records.getDelivery('O-0', 'r.O-0')).toMatchObject({ status: 'sent', vendorMessageId: 'm-r.O-0', attempts: 1 });
  });

  it('permanent errors fail at once with the vendor code, without retry', async () => {
    const adapter = new FakeAdapter(() => { throw new PermanentVendorError('permission denied', { ...E, code: 1002 }); });
    const { queue, add, records } = start(adapter);
    await add(1);
    await finished(queue, 1);
    const job = await queue.getJob('r.O-0');
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toBe('mantago 1002: permission denied');
    expect(adapter.calls).toHaveLength(1);
    expect(await records.getDelivery('O-0', 'r.O-0')).toMatchObject({ status: 'failed', reason: 'mantago 1002: permission denied' });
  });

  it('retryable errors back off and retry until success; the record says retrying meanwhile', async () => {
    const adapter = new FakeAdapter((b, call) => {
      if (call < 3) throw new RetryableVendorError('HTTP 503', { ...E, status: 503 });
      return ok(b, call);
    });
    const { queue, add } = start(adapter);
    await add(1);
    await finished(queue, 1);
    const job = await queue.getJob('r.O-0');
    expect(await job?.getState()).toBe('completed');
    expect(job?.attemptsMade).toBe(3);
  });

  it('a per-delivery failure inside a batch fails only that delivery', async () => {
    const adapter = new FakeAdapter((batch) => batch.map((d) => d.orderId === 'O-3'
      ? { ok: false as const, error: new PermanentVendorError('client not found', { ...E, code: 37011 }) }
      : { ok: true as const, vendorMessageId: d.deliveryId }), 100, 30);
    const { queue, add } = start(adapter);
    await add(10);
    await finished(queue, 10);
    expect((await queue.getJobCounts('failed')).failed).toBe(1);
    expect((await queue.getJob('r.O-3'))?.failedReason).toBe('mantago 37011: client not found');
    expect(adapter.calls.length).toBeLessThan(10);
  });

  it('batches compatible deliveries into few requests and keeps incompatible ones apart', async () => {
    const adapter = new FakeAdapter(ok, 100, 50);
    const { queue, add } = start(adapter);
    await add(60, 'intent-a');
    await finished(queue, 60);
    expect(adapter.calls.flat()).toHaveLength(60);
    expect(adapter.calls.length).toBeLessThanOrEqual(6);
    for (const call of adapter.calls) expect(new Set(call.map((d) => d.payload.intentId)).size).toBe(1);
  });

  it('auth expiry refreshes once and retries at once, using no attempt', async () => {
    const adapter = new FakeAdapter((b, call) => {
      if (call === 1) throw new AuthExpiredVendorError('token expired', { ...E, code: 1004 });
      return ok(b, call);
    });
    const { queue, add } = start(adapter);
    await add(1);
    await finished(queue, 1);
    expect(adapter.refreshes).toBe(1);
    expect((await queue.getJob('r.O-0'))?.attemptsMade).toBe(1);
  });

  it('a 429 pauses the vendor and does not use up attempts', async () => {
    const adapter = new FakeAdapter((b, call) => {
      if (call <= 3) throw new RateLimitedVendorError('slow down', { ...E, status: 429, code: 429 }, 100);
      return ok(b, call);
    });
    const { queue, add } = start(adapter, { DELIVERY_ATTEMPTS: '2' });
    await add(1);
    await finished(queue, 1);
    const job = await queue.getJob('r.O-0');
    expect(await job?.getState()).toBe('completed'); // 3 rate limits with only 2 attempts allowed
    expect(adapter.calls).toHaveLength(4);
  });

  it('the ledger keeps an acknowledged delivery from being sent twice (duplicate job, re-run)', async () => {
    const adapter = new FakeAdapter(ok);
    const { queue, add, records } = start(adapter);
    await add(1);
    await finished(queue, 1);
    // The same delivery again under another job id, as a stalled re-run or a manual duplicate would be.
    const again = await queue.add('delivery', (await queue.getJob('r.O-0'))!.data, { jobId: 'dup-r.O-0' });
    await waitFor(async () => (await queue.getJob(again.id!))?.finishedOn, 'duplicate finished');
    expect((await queue.getJob(again.id!))?.returnvalue).toEqual({ vendorMessageId: 'm-r.O-0', duplicateSuppressed: true });
    expect(adapter.calls).toHaveLength(1);
    expect((await records.getDelivery('O-0', 'r.O-0'))?.status).toBe('sent');
  });

  it('an invalid injected job fails unrecoverably naming the field; good jobs keep flowing', async () => {
    const adapter = new FakeAdapter(ok);
    const { queue, add } = start(adapter);
    const bad = await queue.add('delivery', { deliveryId: 'x', orderId: 'x', ruleId: 'r', vendor: 'mantago', createdAt: 'now', payload: { platform: 'line', clientIds: [] } }, { attempts: 5 });
    const worse = await queue.add('delivery', 'not even an object', { attempts: 5 });
    await add(3);
    await finished(queue, 5);
    const b = (await queue.getJob(bad.id!))!;
    expect(b.attemptsMade).toBe(1);
    expect(b.failedReason).toMatch(/invalid delivery job .*payload.clientIds: Too small/);
    expect((await queue.getJob(worse.id!))!.failedReason).toMatch(/invalid delivery job/);
    expect((await queue.getJobCounts('completed')).completed).toBe(3);
  });

  it('an unexpected error (a bug, not a vendor answer) is retried, not lost', async () => {
    const adapter = new FakeAdapter((b, call) => {
      if (call === 1) throw new TypeError('cannot read properties of undefined');
      return ok(b, call);
    });
    const { queue, add } = start(adapter);
    await add(1);
    await finished(queue, 1);
    expect(await (await queue.getJob('r.O-0'))?.getState()).toBe('completed');
  });
});

describe('shared vendor rate limiter (GCRA in Redis)', () => {
  it('never grants more than max requests in any window, across limiter instances', async () => {
    const redis = await startRedis();
    const a = new VendorRateLimiter(redis.client(), 'rl', 'v', { max: 10, durationMs: 1_000 });
    const b = new VendorRateLimiter(redis.client(), 'rl', 'v', { max: 10, durationMs: 1_000 });
    const granted: number[] = [];
    await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).acquire().then(() => granted.push(Date.now()))));
    granted.sort((x, y) => x - y);
    let max = 0;
    for (let i = 0; i < granted.length; i++) max = Math.max(max, granted.filter((t) => t >= granted[i]! && t < granted[i]! + 1_000).length);
    expect(max).toBeLessThanOrEqual(10 + 1); // +1: timers may fire a millisecond early at a window edge
    const paused = Date.now();
    await a.pause(300);
    await b.acquire();
    expect(Date.now() - paused).toBeGreaterThanOrEqual(250);
    await redis.stop();
  });
});
