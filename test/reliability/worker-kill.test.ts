import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { loadRoutesFile } from '../../src/fanout/routes.js';
import { HeldDeliveries } from '../../src/delivery/held.js';
import { OrderRecords } from '../../src/orders/record.js';
import { startChildWorker } from '../support/child-worker.js';
import { countPerRecipient, testOrders } from '../support/orders.js';
import { startFrontHalf } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';
import { acceptedRecipients, deliveryCounts, distinct, ROUTES_FILE, uniquePrefix, useReliabilityRig, workerEnv } from './harness.js';

/**
 * Scenario 1: a delivery worker process is SIGKILLed in the middle of 1,000 Metabot deliveries (50 ms vendor
 * latency) and started again. Every request leaves an attempt marker before it goes out, so the restarted worker
 * knows which deliveries had a request on the wire at the kill (the vendor may or may not have them; Metabot has no
 * idempotency key and cannot be asked). With the route's `onUnknownOutcome: resend` (default) those are sent again
 * and counted; with `hold` none is sent twice and each is held for an operator. The stalled-job check runs every
 * STALLED_INTERVAL (3 s here) and the lock is 8 s, so the killed worker's jobs come back within seconds.
 */
const DELIVERIES = 1_000;
const KILL_AFTER = 250;
const FAST_LOCKS = { VENDOR_TIMEOUT: '2s', LEDGER_WRITE_RETRY: '3s', DELIVERY_LOCK_DURATION: '8s', STALLED_INTERVAL: '3s' };

async function metricValue(url: string, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('a delivery worker killed mid-load', () => {
  const rig = useReliabilityRig();

  for (const policy of ['resend', 'hold'] as const) {
    it(`SIGKILL in 1,000 deliveries, onUnknownOutcome: ${policy}: ${policy === 'resend' ? 'duplicates only from requests on the wire, each counted' : '0 duplicates, every unknown one held and listed, 0 lost'}`, async () => {
      const prefix = uniquePrefix(`kill${policy}`);
      const env = workerEnv({ url: rig.redis.url }, prefix, rig.sandbox, FAST_LOCKS);
      const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
      const monitor = rig.redis.client();

      // The load is fanned out before the delivery worker starts, so the kill hits a worker with a full queue.
      const routes = loadRoutesFile(ROUTES_FILE).map((r) => (policy === 'hold' ? { ...r, onUnknownOutcome: 'hold' as const } : r));
      const front = startFrontHalf(config, routes);
      const orders = testOrders(`kill${policy}`, DELIVERIES, ['metabotLeadId']);
      for (let i = 0; i < orders.length; i += 250) await front.producer.orderPaidBulk(orders.slice(i, i + 250));
      await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).waiting === DELIVERIES, 'the fan-out of 1,000 orders', 60_000);
      await front.close();

      rig.sandbox.reset();
      rig.sandbox.setFaults('metabot', { latencyMs: 50 });
      const first = await startChildWorker('workers/metabot.ts', env);
      rig.children.push(first);
      await waitFor(() => distinct(acceptedRecipients(rig.sandbox, 'metabot')) >= KILL_AFTER, `${KILL_AFTER} accepted deliveries`, 60_000, 5);
      const exit = await first.kill('SIGKILL');
      // What the dead worker held: its active jobs (locked until the lock expires) — the upper bound of duplicates.
      const atKill = await deliveryCounts(monitor, prefix, 'metabot');
      const inFlight = atKill.active;
      const acceptedAtKill = distinct(acceptedRecipients(rig.sandbox, 'metabot'));
      expect(exit.signal).toBe('SIGKILL');
      expect(acceptedAtKill).toBeLessThan(DELIVERIES); // the kill really was mid-load

      const restartedAt = Date.now();
      const second = await startChildWorker('workers/metabot.ts', env);
      rig.children.push(second);
      await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).completed === DELIVERIES,
        'all 1,000 delivery jobs completed after the restart (stalled jobs come back after the lock and the stalled check)', 150_000, 250);
      const recoveredMs = Date.now() - restartedAt;

      const recipients = acceptedRecipients(rig.sandbox, 'metabot');
      const { counts, duplicates } = countPerRecipient(recipients);
      const leads = orders.map((o) => String(o.customer.channels.metabotLeadId));
      expect((await deliveryCounts(monitor, prefix, 'metabot')).failed).toBe(0);
      const records = new OrderRecords(monitor, prefix, config.orderRetentionMs);
      const statuses = await Promise.all(orders.map(async (o) => (await records.get(o.orderId))?.deliveries.find((d) => d.vendor === 'metabot')?.status));
      const resent = await metricValue(second.url, 'order_notify_unknown_outcomes_total', 'action="resent"');
      const heldMetric = await metricValue(second.url, 'order_notify_unknown_outcomes_total', 'action="held"');
      const held = await new HeldDeliveries(monitor, prefix).list('metabot');

      if (policy === 'resend') {
        expect(leads.filter((l) => !counts.has(l))).toEqual([]); // every recipient got its message
        expect(duplicates).toBeLessThanOrEqual(inFlight);
        expect(duplicates).toBeLessThanOrEqual(resent); // every duplicate was a counted "unknown outcome, resent"
        expect(resent).toBeLessThanOrEqual(inFlight);
        expect(statuses.filter((s) => s !== 'sent')).toEqual([]);
      } else {
        expect(duplicates).toBe(0);
        expect(resent).toBe(0);
        // 0 lost: every delivery either reached the vendor or is held (listed, recorded unknown) for an operator.
        const heldOrders = new Set(held.map((h) => h.job.orderId));
        expect(orders.filter((o) => !counts.has(String(o.customer.channels.metabotLeadId)) && !heldOrders.has(o.orderId))).toEqual([]);
        expect(held.length).toBe(heldMetric);
        expect(held.length).toBeLessThanOrEqual(inFlight);
        expect(statuses.filter((s) => s === 'unknown').length).toBe(held.length);
        expect(statuses.filter((s) => s !== 'sent' && s !== 'unknown')).toEqual([]);
      }
      console.info(`[worker-kill ${policy}] ${DELIVERIES} deliveries; killed after ${acceptedAtKill} accepted with ${inFlight} jobs in flight; ` +
        `duplicates ${duplicates}; unknown outcomes resent ${resent}, held ${held.length}; all jobs done ${Math.round(recoveredMs / 1000)} s after the restart`);
      await second.kill('SIGTERM');
    });
  }

  it('the graceful path for comparison: SIGTERM mid-load drains the jobs in flight, so a restart sends nothing twice', async () => {
    const prefix = uniquePrefix('term');
    const env = workerEnv({ url: rig.redis.url }, prefix, rig.sandbox, { SHUTDOWN_TIMEOUT: '10s' });
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    const monitor = rig.redis.client();
    const front = startFrontHalf(config, loadRoutesFile(ROUTES_FILE));
    const orders = testOrders('term', 500, ['metabotLeadId'], 10_000);
    await front.producer.orderPaidBulk(orders);
    await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).waiting === 500, 'the fan-out of 500 orders', 60_000);
    await front.close();

    rig.sandbox.reset();
    rig.sandbox.setFaults('metabot', { latencyMs: 50 });
    const first = await startChildWorker('workers/metabot.ts', env);
    rig.children.push(first);
    await waitFor(() => distinct(acceptedRecipients(rig.sandbox, 'metabot')) >= 100, '100 accepted deliveries', 60_000, 5);
    const exit = await first.kill('SIGTERM');
    expect(exit.code).toBe(0);
    const afterStop = await deliveryCounts(monitor, prefix, 'metabot');
    expect(afterStop.active).toBe(0); // nothing left for the stalled check
    expect(afterStop.completed).toBeLessThan(500);

    const second = await startChildWorker('workers/metabot.ts', env);
    rig.children.push(second);
    await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).completed === 500, 'all 500 deliveries completed', 60_000, 100);
    const { counts, duplicates } = countPerRecipient(acceptedRecipients(rig.sandbox, 'metabot'));
    expect(counts.size).toBe(500);
    expect(duplicates).toBe(0);
    console.info(`[worker-term] SIGTERM after ${afterStop.completed} of 500 completed: 0 jobs left active, 0 duplicates after the restart`);
    await second.kill('SIGTERM');
  });
});
