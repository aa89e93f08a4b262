import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { loadRoutesFile } from '../../src/fanout/routes.js';
import { OrderRecords } from '../../src/orders/record.js';
import { startChildWorker } from '../support/child-worker.js';
import { countPerRecipient, testOrders } from '../support/orders.js';
import { startFrontHalf } from '../support/pipeline.js';
import { freePort } from '../support/ports.js';
import { waitFor, sleep } from '../support/wait.js';
import { acceptedRecipients, deliveryCounts, ROUTES_FILE, uniquePrefix, useReliabilityRig, workerEnv } from './harness.js';

/**
 * Redis refuses writes right after the vendor acknowledged: out of memory under `noeviction` (CONFIG SET maxmemory
 * below what is used), or read-only (the server turned into a replica of a master that never answers, as during
 * a failover). The requests are on the wire (attempt markers written, the sandbox holding each answer 1 s) when
 * Redis starts refusing, so every acknowledgement arrives while nothing can be written. The ledger write is
 * retried in-process (LEDGER_WRITE_RETRY, 20 s by default): 0 duplicates, 0 lost, every record final and right.
 */
const DELIVERIES = 20;

describe('Redis refusing writes right after an acknowledgement (real worker process)', () => {
  const rig = useReliabilityRig();

  const modes = {
    oom: { refuse: async () => { await rig.redis.client().config('SET', 'maxmemory', '1'); }, restore: async () => { await rig.redis.client().config('SET', 'maxmemory', '0'); } },
    'read-only': {
      refuse: async () => { await rig.redis.client().call('REPLICAOF', '127.0.0.1', String(await freePort())); },
      restore: async () => { await rig.redis.client().call('REPLICAOF', 'NO', 'ONE'); },
    },
  } as const;

  for (const [mode, { refuse, restore }] of Object.entries(modes)) {
    for (const seconds of [3, 15]) {
      it(`${mode} for ${seconds} s: 0 duplicates, 0 lost, records sent`, async () => {
        const prefix = uniquePrefix(`ro${seconds}`);
        const env = workerEnv({ url: rig.redis.url }, prefix, rig.sandbox);
        const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
        const monitor = rig.redis.client();
        const front = startFrontHalf(config, loadRoutesFile(ROUTES_FILE).filter((r) => r.vendor === 'metabot'));
        const orders = testOrders(`ro${mode}${seconds}`, DELIVERIES, ['metabotLeadId']);
        await front.producer.orderPaidBulk(orders);
        await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).waiting === DELIVERIES, 'the fan-out', 30_000);
        await front.close();

        rig.sandbox.reset();
        rig.sandbox.setFaults('metabot', { latencyMs: 1_000 });
        const worker = await startChildWorker('workers/metabot.ts', env);
        rig.children.push(worker);
        // Every request has left (its attempt marker is written just before) and waits for its answer.
        await waitFor(async () => (await monitor.keys(`${prefix}:attempt:*`)).length === DELIVERIES, 'all requests on the wire', 10_000, 10);
        await refuse();
        const refusedAt = Date.now();
        await waitFor(() => acceptedRecipients(rig.sandbox, 'metabot').length === DELIVERIES, 'every acknowledgement (while Redis refuses writes)', 10_000, 20);
        const acksWhileRefusing = Date.now() - refusedAt < seconds * 1000;
        await sleep(Math.max(0, refusedAt + seconds * 1000 - Date.now()));
        await restore();

        await waitFor(async () => (await deliveryCounts(monitor, prefix, 'metabot')).completed === DELIVERIES, 'all jobs completed', 60_000, 100);
        const { counts, duplicates } = countPerRecipient(acceptedRecipients(rig.sandbox, 'metabot'));
        expect(acksWhileRefusing).toBe(true);
        expect(duplicates).toBe(0);
        expect(counts.size).toBe(DELIVERIES);
        const c = await deliveryCounts(monitor, prefix, 'metabot');
        expect(c.failed).toBe(0);
        const records = new OrderRecords(monitor, prefix, config.orderRetentionMs);
        const statuses = await Promise.all(orders.map(async (o) => (await records.get(o.orderId))?.deliveries[0]?.status));
        expect(statuses.filter((s) => s !== 'sent')).toEqual([]);
        expect(worker.logCount('ledger write after an acknowledgement failed; retrying (never resending)')).toBeGreaterThan(0);
        console.info(`[redis-refuses-writes] ${mode} ${seconds} s after ${DELIVERIES} acks: duplicates ${duplicates}, lost ${DELIVERIES - counts.size}, records sent ${statuses.filter((s) => s === 'sent').length}`);
        rig.sandbox.setFaults('metabot', {});
        await worker.kill('SIGTERM');
      });
    }
  }
});
