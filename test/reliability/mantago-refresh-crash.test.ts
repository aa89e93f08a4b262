import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { parseRoutes } from '../../src/fanout/routes.js';
import { OrderRecords } from '../../src/orders/record.js';
import { startChildWorker } from '../support/child-worker.js';
import { testOrders } from '../support/orders.js';
import { startFrontHalf } from '../support/pipeline.js';
import { waitFor, sleep } from '../support/wait.js';
import { deliveryCounts, uniquePrefix, useReliabilityRig, workerEnv } from './harness.js';

/**
 * MantaGO retires the old pair the moment it answers a refresh, so the new pair must reach Redis. Here the refresh
 * answer arrives while Redis refuses writes, and the worker is stopped (SIGTERM) before the pair could be stored:
 * the pair is kept in memory, its write retried, and given a last chance during shutdown, so once Redis takes
 * writes again the pair is stored and a fresh worker delivers with it — nobody re-keys by hand.
 */
describe('MantaGO: worker stopped between the refresh answer and storing the pair', () => {
  const rig = useReliabilityRig({
    beforeTeardown: ({ redis }) => redis.client().config('SET', 'maxmemory', '0').catch(() => undefined),
  });

  it('deliveries resume without a human', async () => {
    const prefix = uniquePrefix('mtg');
    const env = workerEnv({ url: rig.redis.url }, prefix, rig.sandbox, {
      MANTAGO_RATE_LIMIT: '1000/1s', VENDOR_TIMEOUT: '2s', LEDGER_WRITE_RETRY: '3s', DELIVERY_LOCK_DURATION: '8s', STALLED_INTERVAL: '3s', LOG_LEVEL: 'info',
    });
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    const monitor = rig.redis.client();
    const raw = parseYaml(readFileSync('config/routes.example.yaml', 'utf8')) as { rules: Array<Record<string, unknown>> };
    raw.rules = raw.rules.filter((r) => r.id === 'line-thanks');
    const front = startFrontHalf(config, parseRoutes(raw));
    const orders = testOrders('mtg', 3, ['lineUserId']);
    await front.producer.orderPaidBulk(orders);
    await waitFor(async () => (await deliveryCounts(monitor, prefix, 'mantago')).waiting === 3, 'the fan-out', 30_000);
    await front.close();

    const original = { ...rig.sandbox.credentials.mantago };
    const credentialsKey = `${prefix}:mantago:credentials:${original.botId}`;
    rig.sandbox.reset();
    rig.sandbox.expireToken('mantago');
    rig.sandbox.setFaults('mantago', { latencyMs: 1_000 }); // the refresh answer comes 1 s after the request
    const first = await startChildWorker('workers/mantago.ts', env);
    rig.children.push(first);
    // The refresher holds the lock while its refresh request waits for the answer: now Redis stops taking writes.
    await waitFor(async () => (await monitor.exists(`${credentialsKey}:lock`)) === 1, 'a refresh under way', 20_000, 5);
    await monitor.config('SET', 'maxmemory', '1');
    await waitFor(() => rig.sandbox.requests('mantago').some((r) => r.path === '/openapi/token' && r.status === 200), 'the refresh answer', 10_000, 10);
    const rotated = { ...rig.sandbox.credentials.mantago };
    expect(rotated.token).not.toBe(original.token);
    await sleep(300);
    expect(JSON.parse((await monitor.get(credentialsKey)) ?? '{}').token).not.toBe(rotated.token); // not stored yet

    // Stopped before the pair is stored; Redis comes back during the shutdown.
    const stopping = first.kill('SIGTERM');
    setTimeout(() => void monitor.config('SET', 'maxmemory', '0'), 1_000);
    await stopping;
    expect(JSON.parse((await monitor.get(credentialsKey))!)).toMatchObject({ token: rotated.token, secret: rotated.secret });

    rig.sandbox.setFaults('mantago', {});
    const second = await startChildWorker('workers/mantago.ts', env);
    rig.children.push(second);
    await waitFor(async () => (await deliveryCounts(monitor, prefix, 'mantago')).completed === 3, 'every delivery sent with the stored pair', 60_000, 100);
    const records = new OrderRecords(monitor, prefix, config.orderRetentionMs);
    const statuses = await Promise.all(orders.map(async (o) => (await records.get(o.orderId))?.deliveries[0]?.status));
    expect(statuses).toEqual(['sent', 'sent', 'sent']);
    expect(rig.sandbox.requests('mantago').filter((r) => r.path === '/openapi/token')).toHaveLength(1);
    console.info('[mantago-refresh-crash] refresh answered while Redis refused writes, worker stopped: pair stored during shutdown; 3/3 sent after restart, 1 refresh');
    await second.kill('SIGTERM');
  });
});
