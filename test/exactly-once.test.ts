import { Readable } from 'node:stream';
import { Queue } from 'bullmq';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { heldListCommand, heldReleaseCommand } from '../src/cli/commands/held.js';
import type { CliIO } from '../src/cli/io.js';
import { RetryableVendorError } from '../src/delivery/errors.js';
import { HeldDeliveries } from '../src/delivery/held.js';
import type { Delivery, SendOutcome, VendorAdapter } from '../src/delivery/types.js';
import { createVendorDeliveryWorker, type DeliveryWorker } from '../src/app/delivery-worker.js';
import { Metrics } from '../src/observability/metrics.js';
import { OrderRecords } from '../src/orders/record.js';
import { createRedis } from '../src/queues/connection.js';
import type { MantagoPayload } from '../src/vendors/mantago/payload.js';
import { testConfig } from './support/config.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { waitFor } from './support/wait.js';

type Script = (batch: Array<Delivery<MantagoPayload>>, call: number) => Promise<SendOutcome[]> | SendOutcome[];

class FakeAdapter implements VendorAdapter<MantagoPayload> {
  calls = 0;
  readonly maxBatch = 1;
  readonly lingerMs = 0;
  constructor(public script: Script) {}
  async send(batch: Array<Delivery<MantagoPayload>>) {
    this.calls += 1;
    return this.script(batch, this.calls);
  }
}
const ok = (batch: Array<Delivery<MantagoPayload>>): SendOutcome[] => batch.map((d) => ({ ok: true, vendorMessageId: `m-${d.deliveryId}` }));
const noAnswer = () => { throw new RetryableVendorError('no answer (DEADLINE_EXCEEDED)', { vendor: 'mantago' }); };

/** The attempt marker, the unknown-outcome policy and the ledger write after an ack (real Redis, scripted vendor). */
describe('exactly once: unknown outcomes and acknowledged sends', () => {
  let redis: TestRedis;
  let running: DeliveryWorker | undefined;
  let connection: ReturnType<typeof createRedis> | undefined;
  beforeAll(async () => { redis = await startRedis(); });
  afterEach(async () => {
    await redis.client().config('SET', 'maxmemory', '0');
    await running?.close(2_000);
    connection?.disconnect();
    running = undefined;
  });
  afterAll(async () => { await redis.stop(); });

  function start(adapter: FakeAdapter, env: Record<string, string> = {}, policy?: 'hold') {
    const config = testConfig(redis.url, { DELIVERY_ATTEMPTS: '4', ...env });
    connection = createRedis(config.redis, 'worker');
    const records = new OrderRecords(connection, config.queuePrefix, 60_000);
    const metrics = new Metrics({ defaultMetrics: false });
    running = createVendorDeliveryWorker({ vendor: 'mantago', config, connection, records, metrics, logger: pino({ level: 'silent' }), adapter });
    const queue = running.queue;
    const add = () => queue.add('delivery', {
      deliveryId: 'r.O-1', orderId: 'O-1', ruleId: 'r', vendor: 'mantago', createdAt: new Date().toISOString(),
      payload: { platform: 'line', clientIds: ['c1'], intentId: 'i' }, ...(policy ? { onUnknownOutcome: policy } : {}),
    }, { jobId: 'r.O-1' });
    const io = (): CliIO & { out: string[] } => {
      const out: string[] = [];
      return { out, stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) }, stdin: Readable.from([]), env: { REDIS_URL: redis.url, QUEUE_PREFIX: config.queuePrefix, LOG_LEVEL: 'silent' } };
    };
    return { queue, records, add, config, metrics, io };
  }
  const settled = (queue: Queue, id: string) => waitFor(async () => {
    const state = await queue.getJobState(id);
    return (state === 'completed' || state === 'failed') && state;
  }, `job ${id} finished`);
  const counter = async (c: { get(): Promise<{ values: Array<{ value: number; labels: Record<string, unknown> }> }> }, labels: Record<string, string> = {}) =>
    (await c.get()).values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l)).reduce((n, v) => n + v.value, 0);

  it('hold: a request with no answer is not sent again; recorded unknown, listed, and released by an operator (--send)', async () => {
    const adapter = new FakeAdapter((batch, call) => (call === 1 ? noAnswer() : ok(batch)));
    const { queue, add, records, metrics, io, config } = start(adapter, {}, 'hold');
    await add();
    expect(await settled(queue, 'r.O-1')).toBe('completed');
    expect(adapter.calls).toBe(1);
    expect((await queue.getJob('r.O-1'))?.returnvalue).toEqual({ held: true });
    const record = await records.getDelivery('O-1', 'r.O-1');
    expect(record).toMatchObject({ status: 'unknown', reason: expect.stringMatching(/order-notify held release r\.O-1 --send/) });
    expect(await counter(metrics.unknownOutcomes, { action: 'held' })).toBe(1);

    const list = io();
    await heldListCommand(list, { json: true });
    expect(JSON.parse(list.out.join('')).held).toMatchObject([{ deliveryId: 'r.O-1', orderId: 'O-1', vendor: 'mantago' }]);
    const release = io();
    expect(await heldReleaseCommand(release, 'r.O-1', { send: true })).toBe(0);
    await waitFor(async () => (await records.getDelivery('O-1', 'r.O-1'))?.status === 'sent', 'the released delivery sent');
    expect(adapter.calls).toBe(2);
    expect(await new HeldDeliveries(connection!, config.queuePrefix).count()).toBe(0);
  });

  it('hold + --drop: never sent again, recorded dropped (final)', async () => {
    const adapter = new FakeAdapter(noAnswer);
    const { queue, add, records, io } = start(adapter, {}, 'hold');
    await add();
    await settled(queue, 'r.O-1');
    expect(await heldReleaseCommand(io(), 'r.O-1', { drop: true })).toBe(0);
    expect(await records.getDelivery('O-1', 'r.O-1')).toMatchObject({ status: 'dropped', reason: expect.stringMatching(/dropped by an operator/) });
    expect(adapter.calls).toBe(1);
    expect(await heldReleaseCommand(io(), 'r.O-1', { drop: true })).toBe(3); // not held any more
  });

  it('resend (default): sent again and counted as "unknown outcome, resent"; a vendor\'s definite "no" is not unknown', async () => {
    const adapter = new FakeAdapter((batch, call) => {
      if (call === 1) noAnswer();
      if (call === 2) throw new RetryableVendorError('HTTP 503', { vendor: 'mantago', status: 503, code: 503 });
      return ok(batch);
    });
    const { queue, add, records, metrics } = start(adapter);
    await add();
    expect(await settled(queue, 'r.O-1')).toBe('completed');
    expect(adapter.calls).toBe(3);
    expect((await records.getDelivery('O-1', 'r.O-1'))?.status).toBe('sent');
    // Only the run after the unanswered request found a marker; the 503 cleared it.
    expect(await counter(metrics.unknownOutcomes, { action: 'resent' })).toBe(1);
  });

  it('Redis refusing writes (OOM) for 2 s right after the ack: retried in-process, sent once, recorded sent', async () => {
    const admin = redis.client();
    const adapter = new FakeAdapter(async (batch) => {
      await admin.config('SET', 'maxmemory', '1'); // the next write is refused: noeviction
      setTimeout(() => void admin.config('SET', 'maxmemory', '0'), 2_000);
      return ok(batch);
    });
    const { queue, add, records, metrics } = start(adapter);
    await add();
    expect(await settled(queue, 'r.O-1')).toBe('completed');
    expect(adapter.calls).toBe(1);
    expect((await records.getDelivery('O-1', 'r.O-1'))?.status).toBe('sent');
    expect(await counter(metrics.sentNotRecorded)).toBe(0);
  });

  it('past LEDGER_WRITE_RETRY: the job ends "sent, not recorded" (never retried), the alert counts it, the entry is written later', async () => {
    const admin = redis.client();
    const adapter = new FakeAdapter(async (batch) => {
      await admin.config('SET', 'maxmemory', '1');
      setTimeout(() => void admin.config('SET', 'maxmemory', '0'), 2_500);
      return ok(batch);
    });
    const { queue, add, records, metrics, config } = start(adapter, { LEDGER_WRITE_RETRY: '1s' });
    await add();
    expect(await settled(queue, 'r.O-1')).toBe('failed');
    const job = await queue.getJob('r.O-1');
    expect(job?.failedReason).toMatch(/^sent, not recorded/);
    expect(job?.attemptsMade).toBe(1);
    expect(await counter(metrics.sentNotRecorded)).toBe(1);
    await waitFor(async () => (await records.getDelivery('O-1', 'r.O-1'))?.status === 'sent', 'the late ledger write and record');
    expect(await redis.client().exists(`${config.queuePrefix}:sent:r.O-1`)).toBe(1);
    // retry-failed would find the ledger: still one call.
    await job!.retry('failed', { resetAttemptsMade: true });
    expect(await settled(queue, 'r.O-1')).toBe('completed');
    expect(adapter.calls).toBe(1);
  });
});
