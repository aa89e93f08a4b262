import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCorrelatorWorker } from '../../src/vendors/twin24/correlation/worker.js';
import { isVendorError } from '../../src/delivery/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import { waitFor } from '../support/wait.js';
import { lastSeq, RULE, silent, startRig, tickUntilSettled, type Pipeline, type Rig } from './rig.js';

const finished = (rig: Rig) => rig.sandbox.twin24Messages().every((m) => m.status !== 'CREATED' && m.status !== 'PENDING' && (m.status !== 'DELIVERED' || m.result));

async function statusesOf(p: Pipeline, orderIds: string[]): Promise<string[]> {
  const orders = await Promise.all(orderIds.map((id) => p.records.get(id)));
  return orders.map((o) => o!.deliveries.find((d) => d.ruleId === RULE)!.status);
}

describe('a message Twin24 never answers', () => {
  let rig: Rig;
  beforeAll(async () => { rig = await startRig({ twin24: { pendingAfterMs: 50, finalAfterMs: 100, resultAfterMs: 50, outcome: () => 'NEVER' } }); });
  afterAll(async () => { await rig?.close(); });

  it('stays pending with its last status, then times out after TWIN24_CORRELATE_MAX_AGE', async () => {
    const p = await rig.pipeline({ TWIN24_CORRELATE_MAX_AGE: '1500ms' });
    const ids = await p.sendOrders(3);
    await waitFor(() => rig.sandbox.twin24Messages().every((m) => m.status === 'PENDING'), 'PENDING in the sandbox');
    const first = await p.tick();
    expect(first).toMatchObject({ pending: 3, progressed: 3, timedOut: 0 });
    expect(await p.pending.count()).toBe(3);
    const mid = await p.records.get(ids[0]!);
    expect(mid!.deliveries[0]).toMatchObject({ status: 'sent', vendorStatus: 'PENDING' });
    // Unchanged statuses are not written (nor notified) again.
    expect((await p.tick()).progressed).toBe(0);

    const sentAt = Math.max(...(await p.pending.list()).entries.map((e) => e.sentAt));
    await waitFor(() => Date.now() > sentAt + 1_500, 'the maximum age to pass', 5_000);
    const last = await p.tick();
    expect(last).toMatchObject({ timedOut: 3, correlated: 0 });
    expect(await p.pending.count()).toBe(0);
    for (const id of ids) {
      const d = (await p.records.get(id))!.deliveries[0]!;
      expect(d).toMatchObject({ status: 'timed_out', vendorStatus: 'PENDING', vendorMessageId: expect.any(String) });
      expect(d.reason).toBe('no final answer from Twin24 within 2 s of sending (last status PENDING)');
    }
  });
});

describe('analyse API failures never lose pending messages', () => {
  let rig: Rig;
  beforeAll(async () => { rig = await startRig({ twin24: { pendingAfterMs: 20, finalAfterMs: 80, resultAfterMs: 40 } }); });
  afterAll(async () => { await rig?.close(); });

  it('a 5xx fails the tick and keeps everything; the next tick resumes', async () => {
    const p = await rig.pipeline();
    const ids = await p.sendOrders(10);
    await waitFor(() => finished(rig), 'the sandbox timeline to finish');
    rig.sandbox.setFaults('twin24', { errorRate: 1 });
    const error = await p.tick().catch((e: unknown) => e);
    expect(isVendorError(error) && error.kind).toBe('retryable');
    expect(await p.pending.count()).toBe(10);
    expect(await statusesOf(p, ids)).toEqual(Array(10).fill('sent'));

    rig.sandbox.setFaults('twin24', {});
    await tickUntilSettled(p);
    const final = await statusesOf(p, ids);
    expect(final.every((s) => s === 'correlated' || s === 'undelivered')).toBe(true);
  });

  it('flaky 5xx across many pages: each tick keeps the pages it read, all messages end correct', async () => {
    rig.sandbox.reset();
    const p = await rig.pipeline({ TWIN24_STATS_PAGE_SIZE: '3' });
    const ids = await p.sendOrders(30, 100);
    await waitFor(() => finished(rig), 'the sandbox timeline to finish');
    const seq = lastSeq(rig.sandbox);
    rig.sandbox.setFaults('twin24', { errorRate: 0.6 });
    let failedTicks = 0;
    for (let i = 0; i < 300 && (await p.pending.count()) > 0; i++) {
      await p.tick().catch(() => { failedTicks++; });
    }
    rig.sandbox.setFaults('twin24', {});
    expect(await p.pending.count()).toBe(0);
    // Pages were refused (and retried in the tick), and whole ticks failed, yet nothing was lost.
    expect(rig.analyseRequests(seq).filter((r) => r.status === 503).length).toBeGreaterThan(10);
    expect(failedTicks).toBeGreaterThan(0);
    const views = new Map(rig.sandbox.twin24Messages().map((m) => [m.id, m]));
    for (const id of ids) {
      const d = (await p.records.get(id))!.deliveries[0]!;
      const view = views.get(d.vendorMessageId!)!;
      if (view.status === 'DELIVERED') expect(d).toMatchObject({ status: 'correlated', chatId: view.providerMessageId, result: view.result });
      else expect(d).toMatchObject({ status: 'undelivered' });
    }
  });

  it('a 401 refreshes the shared token once and the tick goes on', async () => {
    rig.sandbox.reset();
    const p = await rig.pipeline();
    const ids = await p.sendOrders(5, 200);
    await waitFor(() => finished(rig), 'the sandbox timeline to finish');
    rig.sandbox.expireToken('twin24');
    const seq = lastSeq(rig.sandbox);
    const summary = await p.tick();
    const after = rig.sandbox.requests('twin24').filter((r) => r.seq > seq);
    expect(after[0]).toMatchObject({ path: '/statistics/messaging/messages', status: 401 });
    expect(after.filter((r) => r.path === '/auth/refresh' || r.path === '/auth/login').length).toBe(1);
    expect(after.filter((r) => r.status === 401)).toHaveLength(1);
    expect(summary.correlated + summary.failed).toBe(5);
    expect(summary.calls).toBe(after.filter((r) => r.path.startsWith('/statistics/')).length);
    expect(await p.pending.count()).toBe(0);
    expect((await statusesOf(p, ids)).every((s) => s === 'correlated' || s === 'undelivered')).toBe(true);
  });

  it('a 429 fails the tick, keeps everything and pauses the ticks for Retry-After', async () => {
    rig.sandbox.reset();
    const p = await rig.pipeline();
    const ids = await p.sendOrders(4, 300);
    await waitFor(() => finished(rig), 'the sandbox timeline to finish');
    const correlator = await createCorrelatorWorker({ config: p.config, connection: p.connection, records: p.records, metrics: new Metrics({ defaultMetrics: false }), logger: silent, autorun: false });
    try {
      rig.sandbox.setFaults('twin24', { rateLimit: { max: 1, durationMs: 60_000, retryAfterSec: 1 } });
      // The token is cached; the first statistics call passes, the second is refused with 429.
      const error = await correlator.tickNow().catch((e: unknown) => e);
      expect(isVendorError(error) && error.kind).toBe('rate_limited');
      // The page that was read is stored (final ones left the pending set); nothing else was lost.
      const records = await Promise.all(ids.map((id) => p.records.get(id)));
      const finals = records.filter((o) => o!.deliveries[0]!.finalAt !== undefined).length;
      expect(await p.pending.count()).toBe(4 - finals);
      expect(await p.pending.count()).toBeGreaterThan(0);
      const seq = lastSeq(rig.sandbox);
      expect(await correlator.tickNow()).toBe('skipped');
      expect(lastSeq(rig.sandbox)).toBe(seq);
      rig.sandbox.setFaults('twin24', {});
      const summary = await waitFor(async () => { const r = await correlator.tickNow(); return r === 'skipped' ? undefined : r; }, 'the pause to end', 5_000, 100);
      expect(await p.pending.count()).toBe(0);
      expect(summary.correlated + summary.failed).toBeGreaterThan(0);
    } finally {
      await correlator.close(2_000);
    }
  });

  it('the pending set is swept by age even while every tick fails (bounded memory)', async () => {
    const p = await rig.pipeline({ TWIN24_CORRELATE_MAX_AGE: '600ms', TWIN24_CORRELATE_WINDOW: '600ms' });
    const metrics = new Metrics({ defaultMetrics: false });
    const correlator = await createCorrelatorWorker({ config: p.config, connection: p.connection, records: p.records, metrics, logger: silent, autorun: false });
    try {
      const ids = await p.sendOrders(4);
      rig.sandbox.setFaults('twin24', { errorRate: 1 });
      await expect(correlator.tickNow()).rejects.toThrow();
      expect(await p.pending.count()).toBe(4); // young: kept
      const sentAt = Math.max(...(await p.pending.list()).entries.map((e) => e.sentAt));
      await waitFor(() => Date.now() > sentAt + 1_300, 'maximum age + grace to pass', 5_000);
      await expect(correlator.tickNow()).rejects.toThrow(); // the statistics API is still down
      expect(await p.pending.count()).toBe(0);
      expect(await statusesOf(p, ids)).toEqual(Array(4).fill('timed_out'));
      expect((await p.records.get(ids[0]!))!.deliveries[0]!.reason).toMatch(/swept by age/);
      expect((await metrics.pendingSwept.get()).values[0]?.value).toBe(4);
    } finally {
      rig.sandbox.setFaults('twin24', {});
      await correlator.close(2_000);
    }
  });
});
