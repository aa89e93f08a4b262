import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perMinute, HEALTH_MINUTES } from '../../src/http/vendor-health.js';
import { MAX_HISTORY_ENTRIES } from '../../src/orders/history.js';
import { OrderRecords } from '../../src/orders/record.js';
import { startRedis, type TestRedis } from '../support/redis.js';

describe('status history of an order (real Redis)', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis.stop(); });

  it('keeps every accepted change in order, not the refused ones, bounded, expiring with the record', async () => {
    const c = redis.client();
    const records = new OrderRecords(c, 'hist', 60_000);
    const base = { vendor: 'metabot', ruleId: 'r' };
    await records.initDelivery('H-1', 'r.H-1', { ...base, status: 'queued', createdAt: '2026-11-30T00:00:00.000Z' });
    await records.initDelivery('H-1', 'r.H-1', { ...base, status: 'queued' }); // a retried fan-out: nothing new
    await records.update('H-1', 'r.H-1', { ...base, status: 'retrying', reason: 'metabot 503: busy', attempts: 1 });
    await records.update('H-1', 'r.H-1', { ...base, status: 'failed', reason: 'metabot 400: bad lead', attempts: 2 });
    await records.update('H-1', 'r.H-1', { ...base, status: 'sent', vendorMessageId: 'late' }); // refused: failed is final
    const history = await records.history('H-1');
    expect(history.map((e) => [e.status, e.reason, e.attempts])).toEqual([
      ['queued', undefined, undefined], ['retrying', 'metabot 503: busy', 1], ['failed', 'metabot 400: bad lead', 2],
    ]);
    const ttl = await c.pttl(records.historyKey('H-1'));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);

    for (let i = 0; i < MAX_HISTORY_ENTRIES + 50; i++) await records.update('H-2', 'r.H-2', { ...base, status: 'retrying', attempts: i + 1 });
    const long = await records.history('H-2');
    expect(long).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(long.at(-1)!.attempts).toBe(MAX_HISTORY_ENTRIES + 50); // the newest are kept
  });

  it('skips an entry edited into garbage instead of failing the page', async () => {
    const c = redis.client();
    const records = new OrderRecords(c, 'hist', 60_000);
    await records.update('H-3', 'r.H-3', { vendor: 'twin24', ruleId: 'r', status: 'sent' });
    await c.rpush(records.historyKey('H-3'), 'not json', JSON.stringify({ at: 1 }));
    expect((await records.history('H-3')).map((e) => e.status)).toEqual(['sent']);
  });
});

describe('per-minute figures of the health strip', () => {
  const minute = 60_000;
  const now = 100 * minute + 30_000;
  it('puts the running minute last and closed minutes before it (BullMQ lists newest first)', () => {
    const series = perMinute({ data: [4, 2], meta: { count: 10, prevTS: now - 5_000, prevCount: 7 } }, now);
    expect(series).toHaveLength(HEALTH_MINUTES);
    expect(series.slice(-3)).toEqual([2, 4, 3]);
  });
  it('shifts by the quiet minutes since the last finished job, and is all zeros before any', () => {
    const series = perMinute({ data: [4], meta: { count: 5, prevTS: now - 2 * minute, prevCount: 4 } }, now);
    expect(series.slice(-4)).toEqual([4, 1, 0, 0]);
    expect(perMinute({ data: [], meta: { count: 0, prevTS: 0, prevCount: 0 } }, now)).toEqual(new Array(HEALTH_MINUTES).fill(0));
  });
});
