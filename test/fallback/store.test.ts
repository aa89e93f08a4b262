import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainStore, type Membership } from '../../src/fallback/store.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { sleep } from '../support/wait.js';

const member = (step: number, rule: string, extra: Partial<Membership> = {}): Membership => ({
  head: 'wa', link: step, step, rule, vendor: step === 0 ? 'twin24' : 'mantago', deliveryId: `${rule}.O-1`, reports: step === 0, ...extra,
});
const job = (rule: string) => ({ job: { deliveryId: `${rule}.O-1`, orderId: 'O-1', ruleId: rule, vendor: 'mantago', payload: {}, createdAt: 'x' }, delayMs: 0 });

describe('chain store decisions (one Lua script per report)', () => {
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

  it('a process that died between deciding and adding the job has its work finished after the lease, once', async () => {
    const store = new ChainStore(conn, 'lease', 60_000, 150);
    await store.init('O-1', 'wa', [member(0, 'wa', { next: 'ln' }), member(1, 'ln')], [job('wa'), job('ln')]);
    expect((await store.event('O-1', 'wa.O-1', 'failed', 'wa: undelivered'))?.action).toBe('fire');
    // The decider "died": no markEnqueued. A report within the lease leaves the work to it.
    expect((await store.event('O-1', 'wa.O-1', 'failed', 'wa: undelivered'))?.action).toBe('none');
    await sleep(200);
    const retaken = await store.event('O-1', 'wa.O-1', 'failed', 'wa: undelivered');
    expect(retaken?.action).toBe('fire');
    expect(retaken?.action === 'fire' && retaken.next.firedBecause).toBe('wa: undelivered');
    await store.markEnqueued('O-1', 'wa', 1, 'wa.O-1');
    await sleep(200);
    expect((await store.event('O-1', 'wa.O-1', 'failed', 'wa: undelivered'))?.action).toBe('none');
  });

  it('a retried fan-out does not reset a chain that moved on; the last link failing exhausts it', async () => {
    const store = new ChainStore(conn, 'retry', 60_000);
    const members = [member(0, 'wa', { next: 'ln' }), member(1, 'ln')];
    expect(await store.init('O-1', 'wa', members, [job('wa'), job('ln')])).toBe(true);
    expect((await store.event('O-1', 'wa.O-1', 'failed', 'x'))?.action).toBe('fire');
    expect(await store.init('O-1', 'wa', members, [job('wa'), job('ln')])).toBe(false);
    expect((await store.event('O-1', 'wa.O-1', 'delivered'))?.action).toBe('late_reached'); // primary turned up after all
    expect(await store.reachedByAnother('O-1', 'ln.O-1')).toBe('wa'); // so the fallback is cancelled at the gate
    expect((await store.event('O-1', 'ln.O-1', 'failed', 'y'))?.action).toBe('none');
  });

  it('exhausted when the last link fails; a deadline on the last link does nothing', async () => {
    const store = new ChainStore(conn, 'end', 60_000);
    await store.init('O-1', 'wa', [member(0, 'wa', { next: 'ln' }), member(1, 'ln')], [job('wa'), job('ln')]);
    await store.markEnqueued('O-1', 'wa', 1, 'wa.O-1');
    expect((await store.event('O-1', 'wa.O-1', 'deadline', 'late'))?.action).toBe('fire');
    expect((await store.event('O-1', 'ln.O-1', 'deadline', 'late'))?.action).toBe('none');
    expect((await store.event('O-1', 'ln.O-1', 'failed', 'no'))?.action).toBe('exhausted');
    expect(await store.event('O-1', 'other.O-1', 'failed', 'no')).toBeUndefined(); // not a chain member
  });
});

describe('what a record change means for a chain', async () => {
  const { chainEvent } = await import('../../src/fallback/chains.js');
  it('failures fire, delivery reaches, a timed-out message that Twin24 had delivered counts as delivered', () => {
    expect(chainEvent({ ruleId: 'wa', status: 'timed_out', vendorStatus: 'PENDING', reason: 'no final answer' }))
      .toEqual({ event: 'failed', reason: 'wa: timed_out (PENDING) - no final answer' });
    expect(chainEvent({ ruleId: 'wa', status: 'timed_out', vendorStatus: 'DELIVERED' }).event).toBe('delivered');
    expect(chainEvent({ ruleId: 'wa', status: 'sent', vendorStatus: 'DELIVERED' }).event).toBe('delivered');
    expect(chainEvent({ ruleId: 'wa', status: 'correlated' }).event).toBe('delivered');
    for (const status of ['failed', 'undelivered', 'error', 'expired'] as const) expect(chainEvent({ ruleId: 'x', status }).event).toBe('failed');
    expect(chainEvent({ ruleId: 'wa', status: 'sent' }).event).toBe('sent');
    for (const status of ['queued', 'scheduled', 'retrying', 'cancelled', 'skipped'] as const) expect(chainEvent({ ruleId: 'x', status }).event).toBe('look');
  });
});
