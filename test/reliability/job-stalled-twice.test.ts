import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { loadRoutesFile } from '../../src/fanout/routes.js';
import { notificationId, notificationsOf } from '../../src/orders/handback.js';
import { OrderRecords } from '../../src/orders/record.js';
import { QUEUES } from '../../src/queues/names.js';
import { startChildWorker } from '../support/child-worker.js';
import { testOrders } from '../support/orders.js';
import { startFrontHalf } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';
import { deliveryCounts, ROUTES_FILE, uniquePrefix, useReliabilityRig, workerEnv } from './harness.js';

/**
 * A job whose worker is SIGKILLed twice while it is active (MAX_STALLED_COUNT 1) is failed by BullMQ (its stalled
 * check marks it, the third worker fails it on pick-up) without any of our code running for it. The third worker's
 * periodic look at the failed set finds it and finishes the order record and the hand-back: failed, with the reason.
 */
describe('a job killed twice while active', () => {
  const rig = useReliabilityRig();

  it('ends failed in its record and in the hand-back, with the reason', async () => {
    const prefix = uniquePrefix('stall');
    const env = workerEnv({ url: rig.redis.url }, prefix, rig.sandbox, {
      VENDOR_TIMEOUT: '2s', LEDGER_WRITE_RETRY: '1s', DELIVERY_LOCK_DURATION: '6s', STALLED_INTERVAL: '2s', MAX_STALLED_COUNT: '1',
      DELIVERY_BACKOFF: '30s', DELIVERY_BACKOFF_MAX: '30s', // a cut-off request leaves the job delayed, not active
    });
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    const monitor = rig.redis.client();
    const front = startFrontHalf(config, loadRoutesFile(ROUTES_FILE).filter((r) => r.vendor === 'metabot'));
    const [order] = testOrders('stall', 1, ['metabotLeadId']);
    await front.producer.orderPaid(order!);
    await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).waiting === 1, 'the fan-out', 30_000);

    // The vendor takes 60 s to answer: every worker that picks the job up is still waiting when it is killed.
    rig.sandbox.reset();
    rig.sandbox.setFaults('metabot', { latencyMs: 60_000 });
    let previous: string | null = null;
    for (let kill = 1; kill <= 2; kill++) {
      const worker = await startChildWorker('workers/metabot.ts', env);
      rig.children.push(worker);
      // A fresh pick-up writes a fresh attempt marker (the killed run's marker and active entry linger until then).
      const marker = await waitFor(async () => {
        const raw = (await monitor.mget(...(await monitor.keys(`${prefix}:attempt:*`)).slice(0, 1), '_'))[0];
        return raw !== previous && raw && (await deliveryCounts(monitor, prefix, 'metabot')).active === 1 && raw;
      }, `the request of run ${kill} on the wire`, 30_000, 20);
      previous = marker;
      await worker.kill('SIGKILL');
    }
    const third = await startChildWorker('workers/metabot.ts', env);
    rig.children.push(third);
    await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).failed === 1, 'the stalled check to fail the job', 30_000, 100);

    const records = new OrderRecords(monitor, prefix, config.orderRetentionMs);
    const delivery = await waitFor(async () => {
      const d = (await records.get(order!.orderId))?.deliveries[0];
      return d?.status === 'failed' && d;
    }, 'the record to say failed', 15_000);
    expect(delivery.reason).toMatch(/job stalled more than allowable limit: the worker running it stopped 2 times/);
    const results = new Queue(QUEUES.results, { connection: monitor, prefix });
    const id = notificationId(order!.orderId, { deliveryId: delivery.deliveryId, status: 'failed' });
    const handedBack = await waitFor(async () => (await results.getJobs(['waiting', 'completed'], 0, -1))
      .flatMap((j) => notificationsOf(j.data)).find((n) => n.eventId === id), 'the failed status in a results job', 15_000);
    expect(handedBack).toMatchObject({ status: 'failed', final: true, reason: expect.stringMatching(/stalled more than allowable limit/) });
    console.info(`[job-stalled-twice] record and hand-back: failed, "${delivery.reason!.slice(0, 80)}…"`);
    await results.close();
    await front.close();
    await third.kill('SIGTERM');
  });
});
