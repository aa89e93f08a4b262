import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { createResultsHandback, notificationsOf, recordsFor, toNotification } from '../../src/orders/handback.js';
import { PENDING_GRACE_MS } from '../../src/orders/handback-relay.js';
import { OrderRecords } from '../../src/orders/record.js';
import { keyspace } from '../../src/queues/keyspace.js';
import { QUEUES } from '../../src/queues/names.js';
import { createLogger } from '../../src/runtime/logger.js';
import { testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const logger = createLogger({ level: 'silent' });
const metabot = { vendor: 'metabot', ruleId: 'm' };

/** The record script's outbox and the relay that turns it into batched results jobs (real Redis). */
describe('hand-back outbox and relay (real Redis)', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis.stop(); });

  it('writes each change to the outbox once, in the same script as the record; re-runs add nothing', async () => {
    const c = redis.client();
    const records = new OrderRecords(c, 'ob1', 60_000, [], { notification: toNotification });
    await records.initDelivery('A', 'm.A', { ...metabot, status: 'queued' });
    await records.initDelivery('A', 'm.A', { ...metabot, status: 'queued' }); // a retried fan-out
    await records.update('A', 'm.A', { ...metabot, status: 'sent', vendorMessageId: 'j1' });
    await records.update('A', 'm.A', { ...metabot, status: 'sent', vendorMessageId: 'j1' }); // a re-run after a crash
    await records.update('A', 'm.A', { ...metabot, status: 'retrying', attempts: 1 }); // outranked: not an event
    const outbox = (await c.lrange(records.outboxKey('deliver-metabot'), 0, -1)).map((x) => JSON.parse(x) as { status: string });
    expect(outbox.map((n) => n.status)).toEqual(['queued', 'sent']);
    expect((await records.history('A')).map((e) => e.status)).toEqual(['queued', 'sent']);
    // Bookkeeping fields stay out of the record.
    expect(Object.keys((await records.getDelivery('A', 'm.A'))!)).not.toContain('_n');
  });

  it('leaves a chain member\'s notification to the listener, which appends it once', async () => {
    const c = redis.client();
    const seen: Array<{ member?: boolean; queued?: boolean }> = [];
    const records = new OrderRecords(c, 'ob2', 60_000, [async (ch) => { seen.push({ member: ch.chainMember, queued: ch.queued }); }], { notification: toNotification });
    await records.initDelivery('B', 'm.B', { ...metabot, status: 'queued', chain: { head: 'm', link: 0 } });
    const d = await records.update('B', 'm.B', { ...metabot, status: 'sent' });
    expect(seen).toEqual([{ member: true, queued: false }, { member: true, queued: false }]);
    expect(await c.llen(records.outboxKey('deliver-metabot'))).toBe(0);
    expect(await records.appendNotification('B', d, toNotification('B', d))).toBe(true);
    expect(await records.appendNotification('B', d, toNotification('B', d))).toBe(false);
    expect(await c.llen(records.outboxKey('deliver-metabot'))).toBe(1);
  });

  it('relays batches of RESULTS_BATCH_MAX into order.notifications jobs, every change exactly once', async () => {
    const config = testConfig(redis.url, { RESULTS_BATCH_MAX: '50' });
    const c = redis.client();
    const records = recordsFor(config, c);
    const handback = createResultsHandback({ config, connection: c, logger, records });
    records.onChange(handback.listener);
    for (let i = 0; i < 120; i++) await records.update(`C-${i}`, `m.C-${i}`, { ...metabot, status: 'sent' });
    await handback.relay!.sweep();
    const results = new Queue(QUEUES.results, { connection: c, prefix: config.keys.queuePrefix(QUEUES.results) });
    const jobs = await results.getJobs(['wait'], 0, -1, true);
    expect(jobs.map((j) => j.name)).toEqual(Array(jobs.length).fill('order.notifications'));
    expect(jobs.length).toBeGreaterThanOrEqual(3); // 120 changes, at most 50 per job
    expect(jobs.length).toBeLessThan(20);
    const ids = jobs.flatMap((j) => notificationsOf(j.data).map((n) => n.orderId));
    expect(ids.sort()).toEqual(Array.from({ length: 120 }, (_, i) => `C-${i}`).sort());
    expect(await c.llen(records.outboxKey('deliver-metabot'))).toBe(0);
    await results.close();
    await handback.close();
  });

  it('re-adds a batch whose relay died after taking it, with the same job id (no loss, no duplicate)', async () => {
    const config = testConfig(redis.url, { RESULTS_BATCH_MAX: '10' });
    const c = redis.client();
    const records = recordsFor(config, c);
    for (let i = 0; i < 5; i++) await records.update(`D-${i}`, `m.D-${i}`, { ...metabot, status: 'sent' });
    const prefix = config.keys.beside('deliver-metabot');
    // A relay that took the batch and died before adding its job: the batch is pending, taken long ago.
    const handback = createResultsHandback({ config, connection: c, logger, records, sweepEveryMs: 60_000 });
    await (c as unknown as { orderNotifyTakeBatch(...a: string[]): Promise<unknown> }).orderNotifyTakeBatch(
      `${prefix}:handback`, `${prefix}:handback:seq`, `${prefix}:handback:pending`, '10', String(Date.now() - PENDING_GRACE_MS - 1), `${prefix}:handback:batch:`, '60000');
    expect(await c.llen(`${prefix}:handback`)).toBe(0);
    const results = new Queue(QUEUES.results, { connection: c, prefix: config.keys.queuePrefix(QUEUES.results) });
    expect(await results.count()).toBe(0);
    await handback.relay!.sweep();
    await handback.relay!.sweep(); // a second sweep finds nothing pending
    const jobs = await results.getJobs(['wait'], 0, -1, true);
    expect(jobs.flatMap((j) => notificationsOf(j.data)).map((n) => n.orderId).sort()).toEqual(['D-0', 'D-1', 'D-2', 'D-3', 'D-4']);
    expect(await c.zcard(`${prefix}:handback:pending`)).toBe(0);
    await results.close();
    await handback.close();
  });

  it('per-queue layout: an order\'s parts live beside each delivery queue under its own tag and read back whole', async () => {
    const c = redis.client();
    const keys = keyspace('pq', 'per-queue');
    const records = new OrderRecords(c, keys, 60_000, [], { notification: toNotification, partitions: { metabot: 2 } });
    await records.receiveOrder('E', new Date('2026-11-30T00:00:00Z'), [
      { deliveryId: 'm.E', patch: { ...metabot, status: 'queued', createdAt: '2026-11-30T00:00:01Z' } },
      { deliveryId: 'w.E', patch: { vendor: 'twin24', ruleId: 'w', status: 'queued', createdAt: '2026-11-30T00:00:02Z' } },
    ]);
    await records.update('E', 'w.E', { vendor: 'twin24', ruleId: 'w', status: 'sent' });
    const metabotGroup = records.groupOf('metabot', 'm.E');
    expect(metabotGroup).toMatch(/^deliver-metabot-[01]$/);
    expect(await c.exists(`pq:{${metabotGroup}}:order:E`, 'pq:{deliver-twin24}:order:E', 'pq:{orders}:order:E')).toBe(3);
    expect(await c.llen('pq:{deliver-twin24}:handback')).toBe(2);
    const order = await records.get('E');
    expect(order).toMatchObject({ receivedAt: '2026-11-30T00:00:00.000Z' });
    expect(order!.deliveries.map((d) => [d.deliveryId, d.status])).toEqual([['m.E', 'queued'], ['w.E', 'sent']]);
    expect((await records.history('E')).map((e) => `${e.deliveryId}:${e.status}`).sort()).toEqual(['m.E:queued', 'w.E:queued', 'w.E:sent']);
  });
});
