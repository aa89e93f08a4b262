import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderRecords, type DeliveryRecord } from '../src/orders/record.js';
import { startRedis, type TestRedis } from './support/redis.js';

describe('per-order record (real Redis)', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis.stop(); });

  it('merges attributes, tells listeners, and expires with the retention', async () => {
    const heard: DeliveryRecord[] = [];
    const records = new OrderRecords(redis.client(), 'rec', 60_000, [async (c) => { heard.push(c.delivery); }]);
    await records.update('O:1', 'w.O%3A1', { vendor: 'twin24', ruleId: 'w', status: 'sent', vendorMessageId: 'm1' });
    await records.update('O:1', 'w.O%3A1', { vendor: 'twin24', ruleId: 'w', status: 'correlated', chatId: 'c1', result: { answer: 'yes', list: [] } });
    expect(await records.getDelivery('O:1', 'w.O%3A1')).toMatchObject({ status: 'correlated', vendorMessageId: 'm1', chatId: 'c1', result: { answer: 'yes', list: [] } });
    expect(heard.map((d) => d.status)).toEqual(['sent', 'correlated']);
    const ttl = await redis.client().pttl(records.key('O:1'));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('never lets a late non-final status replace a final one, and stays quiet about it', async () => {
    const heard: string[] = [];
    const records = new OrderRecords(redis.client(), 'rec', 60_000, [async (c) => { heard.push(c.delivery.status); }]);
    await records.update('O-2', 'w.O-2', { vendor: 'twin24', ruleId: 'w', status: 'correlated', chatId: 'c2' });
    await records.update('O-2', 'w.O-2', { vendor: 'twin24', ruleId: 'w', status: 'sent', vendorMessageId: 'm2' });
    expect(await records.getDelivery('O-2', 'w.O-2')).toMatchObject({ status: 'correlated', chatId: 'c2', vendorMessageId: 'm2' });
    expect(heard).toEqual(['correlated']);
    await records.update('O-2', 'w.O-2', { vendor: 'twin24', ruleId: 'w', status: 'timed_out' });
    expect((await records.getDelivery('O-2', 'w.O-2'))?.status).toBe('timed_out');
  });

  it('ranks non-final statuses: a late "retrying" from a stalled run never replaces "sent"; "unknown" can be released', async () => {
    const heard: string[] = [];
    const records = new OrderRecords(redis.client(), 'rank', 60_000, [async (c) => { heard.push(c.delivery.status); }]);
    await records.update('O-3', 'm.O-3', { vendor: 'metabot', ruleId: 'm', status: 'sent', vendorMessageId: 'j1' });
    await records.update('O-3', 'm.O-3', { vendor: 'metabot', ruleId: 'm', status: 'retrying', attempts: 1 });
    await records.update('O-3', 'm.O-3', { vendor: 'metabot', ruleId: 'm', status: 'queued' });
    expect((await records.getDelivery('O-3', 'm.O-3'))?.status).toBe('sent');
    await records.update('O-4', 'm.O-4', { vendor: 'metabot', ruleId: 'm', status: 'unknown', reason: 'held' });
    await records.update('O-4', 'm.O-4', { vendor: 'metabot', ruleId: 'm', status: 'queued' });
    expect((await records.getDelivery('O-4', 'm.O-4'))?.status).toBe('unknown');
    await records.update('O-4', 'm.O-4', { vendor: 'metabot', ruleId: 'm', status: 'retrying', reason: 'released' });
    await records.update('O-4', 'm.O-4', { vendor: 'metabot', ruleId: 'm', status: 'sent' });
    expect((await records.getDelivery('O-4', 'm.O-4'))?.status).toBe('sent');
    expect(heard).toEqual(['sent', 'unknown', 'retrying', 'sent']);
  });
});
