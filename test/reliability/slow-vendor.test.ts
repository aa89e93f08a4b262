import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { loadRoutesFile } from '../../src/fanout/routes.js';
import { HeldDeliveries } from '../../src/delivery/held.js';
import { OrderRecords } from '../../src/orders/record.js';
import { startChildWorker } from '../support/child-worker.js';
import { testOrders } from '../support/orders.js';
import { startFrontHalf } from '../support/pipeline.js';
import { waitFor, sleep } from '../support/wait.js';
import { deliveryCounts, ROUTES_FILE, uniquePrefix, useReliabilityRig, workerEnv } from './harness.js';

/** Resident memory of a process now (Linux VmRSS), in MB. */
function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/**
 * A vendor dripping its answer one byte at a time, and one answering a 150 MB error page, against a real Metabot
 * worker process: the call ends at the total deadline (VENDOR_TIMEOUT, here 1 s) or at the 1 MiB cap, the worker's
 * memory barely moves, and the delivery goes on per the taxonomy (no answer = outcome unknown: resent, or held).
 */
describe('slow and oversized vendor answers (real worker process)', () => {
  const rig = useReliabilityRig();

  async function setUp(tag: string, count: number, policy: 'resend' | 'hold', workerRunning = false, givenPrefix?: string) {
    const prefix = givenPrefix ?? uniquePrefix(tag);
    const env = workerEnv({ url: rig.redis.url }, prefix, rig.sandbox, { VENDOR_TIMEOUT: '1s', DELIVERY_BACKOFF: '300ms' });
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    const monitor = rig.redis.client();
    const routes = loadRoutesFile(ROUTES_FILE).filter((r) => r.vendor === 'metabot').map((r) => ({ ...r, onUnknownOutcome: policy }));
    const front = startFrontHalf(config, routes);
    const orders = testOrders(tag, count, ['metabotLeadId']);
    await front.producer.orderPaidBulk(orders);
    if (!workerRunning) await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).waiting === count, 'the fan-out', 30_000);
    else await waitFor(async () => { const c = await deliveryCounts(monitor, prefix, 'metabot'); return c.waiting + c.active + c.delayed + c.completed >= count; }, 'the fan-out', 30_000);
    await front.close();
    const records = new OrderRecords(monitor, prefix, config.orderRetentionMs);
    const status = async () => Promise.all(orders.map(async (o) => (await records.get(o.orderId))?.deliveries[0]));
    return { env, prefix, monitor, orders, status };
  }

  it('a dripping answer ends at the 1 s deadline; resend: retried and sent; hold: held, not sent again', async () => {
    rig.sandbox.reset();
    rig.sandbox.setFaults('metabot', { dripMs: 500 });
    const resend = await setUp('drip', 1, 'resend');
    const worker = await startChildWorker('workers/metabot.ts', resend.env);
    rig.children.push(worker);
    await waitFor(async () => (await resend.status())[0]?.status === 'retrying', 'the first attempt cut off', 15_000, 20);
    const [first] = await resend.status();
    const arrived = rig.sandbox.requests('metabot')[0]!.at;
    expect(first!.reason).toMatch(/no answer \(DEADLINE_EXCEEDED\)/);
    // The dripped answer is ~40 bytes at 2 bytes/s: without a total deadline the call would last ~20 s.
    const heldForMs = Date.parse(first!.updatedAt) - arrived;
    expect(heldForMs).toBeLessThan(5_000);
    rig.sandbox.setFaults('metabot', {});
    await waitFor(async () => (await resend.status())[0]?.status === 'sent', 'sent on retry', 15_000, 50);
    await worker.kill('SIGTERM');

    rig.sandbox.reset();
    rig.sandbox.setFaults('metabot', { dripMs: 500 });
    const hold = await setUp('driphold', 1, 'hold');
    const holder = await startChildWorker('workers/metabot.ts', hold.env);
    rig.children.push(holder);
    await waitFor(async () => (await hold.status())[0]?.status === 'unknown', 'held after the cut-off attempt', 15_000, 50);
    rig.sandbox.setFaults('metabot', {});
    await sleep(1_000);
    expect(rig.sandbox.requests('metabot')).toHaveLength(1);
    expect(await new HeldDeliveries(hold.monitor, hold.prefix).count()).toBe(1);
    console.info(`[slow-vendor] dripping answer cut after ${heldForMs} ms (VENDOR_TIMEOUT 1 s); resend: sent on retry; hold: held, 1 request`);
    await holder.kill('SIGTERM');
  });

  it('150 MB answers to 5 concurrent requests: cut at 1 MiB, worker peak RSS grows < 50 MB, retried and sent', async () => {
    rig.sandbox.reset();
    rig.sandbox.setFaults('metabot', { hugeBodyBytes: 150 * 1024 * 1024 });
    // The worker runs first and settles; the load arrives while its memory is sampled.
    const prefix = uniquePrefix('huge');
    const worker = await startChildWorker('workers/metabot.ts', workerEnv({ url: rig.redis.url }, prefix, rig.sandbox, { VENDOR_TIMEOUT: '1s', DELIVERY_BACKOFF: '300ms' }));
    rig.children.push(worker);
    await sleep(1_000);
    const before = rssMb(worker.pid);
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, rssMb(worker.pid)); }, 10);
    const s = await setUp('huge', 5, 'resend', true, prefix);
    await waitFor(async () => (await s.status()).every((d) => d?.status === 'retrying'), 'every first attempt cut off', 30_000, 20);
    clearInterval(sampler);
    const grew = peak - before;
    const [first] = await s.status();
    expect(first!.reason).toMatch(/no answer \(RESPONSE_TOO_LARGE\)/);
    expect(grew).toBeLessThan(50);
    rig.sandbox.setFaults('metabot', {});
    await waitFor(async () => (await s.status()).every((d) => d?.status === 'sent'), 'all sent on retry', 30_000, 50);
    expect((await deliveryCounts(s.monitor, s.prefix, 'metabot')).failed).toBe(0);
    console.info(`[slow-vendor] 5 × 150 MB answers: worker peak RSS grew ${grew.toFixed(1)} MB; all sent on retry`);
    await worker.kill('SIGTERM');
  });
});
