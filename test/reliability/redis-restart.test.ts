import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { OrderRecords } from '../../src/orders/record.js';
import { createProducer, RedisUnavailableError, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { QUEUES } from '../../src/queues/names.js';
import { VENDORS } from '../../src/vendors/registry.js';
import { orderDedupId } from '../../src/queues/job-ids.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { countPerRecipient, testOrder, testOrders } from '../support/orders.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor, sleep } from '../support/wait.js';
import { acceptedRecipients, deliveryCounts, stalledCounts, uniquePrefix, workerEnv } from './harness.js';
import { allQueueNames } from '../../src/queues/names.js';

/**
 * Scenarios 2 and 3: Redis goes away under real worker processes (fan-out, Metabot, JoinChat) and a real API
 * process. AOF is on with appendfsync everysec (test/support/redis.ts), and Redis is stopped with SIGTERM as an
 * orchestrator would, so it flushes on the way out.
 */
const INGEST_TOKEN = 'reliability-ingest-token-0123456789';

describe('Redis restarts and outages', () => {
  let redis: TestRedis;
  let sandbox: Sandbox;
  let producer: OrderNotifyProducer;
  let api: ChildWorker;
  const prefix = uniquePrefix('rr');
  const children: ChildWorker[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    sandbox = await startSandbox();
    sandbox.setFaults('metabot', { latencyMs: 20 });
    sandbox.setFaults('joinchat', { latencyMs: 20 });
    const env = workerEnv({ url: redis.url }, prefix, sandbox, {
      INGEST_TOKEN,
      // Jobs whose reply was lost at the stop come back through the stalled check: a short lock keeps the test short.
      VENDOR_TIMEOUT: '2s', LEDGER_WRITE_RETRY: '3s', DELIVERY_LOCK_DURATION: '8s', STALLED_INTERVAL: '3s',
    });
    const started = await Promise.all([
      startChildWorker('workers/fanout.ts', env),
      startChildWorker('workers/metabot.ts', env),
      startChildWorker('workers/joinchat.ts', env),
      startChildWorker('workers/api.ts', env, { portVariable: 'HTTP_PORT' }),
    ]);
    children.push(...started);
    api = started[3]!;
    producer = createProducer({ redisUrl: redis.url, prefix });
  });
  afterAll(async () => {
    await producer?.close();
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await sandbox?.close();
    await redis?.stop();
  });

  const post = (body: unknown) => fetch(`${api.url}/v1/events/order-paid`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });

  /** What a monolith does: retry an event until the API accepts it (202); 503 and refused connections are retried. */
  async function postUntilAccepted(order: OrderPaid): Promise<{ refusals: number }> {
    let refusals = 0;
    for (;;) {
      const res = await post(order).catch(() => undefined);
      if (res?.status === 202) return { refusals };
      if (res && res.status !== 503) {
        const logged = api.output().split('\n').filter((l) => l.includes('"level":"error"')).slice(-3).join('\n');
        throw new Error(`unexpected ${res.status} for ${order.orderId}: ${await res.text()}\nthe API logged:\n${logged}`);
      }
      refusals++;
      await sleep(100);
    }
  }

  async function expectAllDelivered(orders: OrderPaid[], what: string) {
    const leads = orders.map((o) => String(o.customer.channels.metabotLeadId));
    const psids = orders.map((o) => o.customer.channels.messenger!.psid!);
    await waitFor(() => {
      const gotLeads = new Set(acceptedRecipients(sandbox, 'metabot'));
      const gotPsids = new Set(acceptedRecipients(sandbox, 'joinchat'));
      return leads.every((l) => gotLeads.has(l)) && psids.every((p) => gotPsids.has(p));
    }, `every delivery of ${what} at the sandbox`, 120_000, 200);
    const records = new OrderRecords(redis.client(), prefix, 86_400_000);
    await waitFor(async () => {
      const all = await Promise.all(orders.map((o) => records.get(o.orderId)));
      return all.every((r) => r?.deliveries.length === 2 && r.deliveries.every((d) => d.status === 'sent'));
    }, `every delivery of ${what} recorded as sent`, 60_000, 250);
  }

  it('a Redis restart mid-load: the API and the workers reconnect by themselves; no event or delivery is lost', async () => {
    const orders = testOrders('restart', 300, ['metabotLeadId', 'messenger']);
    const monitor = redis.client();
    let posted = 0;
    let refusals = 0;
    let activeAtStop = 0;
    const restart = (async () => {
      await waitFor(() => posted >= 120, '120 events accepted before the restart', 60_000, 10);
      const counts = await Promise.all((['metabot', 'joinchat'] as const).map((v) => deliveryCounts(monitor, prefix, v)));
      activeAtStop = counts.reduce((n, c) => n + c.active, 0);
      await redis.stop({ keepData: true });
      await sleep(500);
      await redis.restart();
    })();
    // Ten concurrent senders, paced so the restart falls in the middle of the load.
    const queue = [...orders];
    await Promise.all(Array.from({ length: 10 }, async () => {
      for (let order = queue.shift(); order; order = queue.shift()) {
        refusals += (await postUntilAccepted(order)).refusals;
        posted++;
        await sleep(40);
      }
    }));
    await restart;
    const restartedAt = Date.now();

    await expectAllDelivered(orders, '300 orders sent across the restart');
    const settledS = Math.round((Date.now() - restartedAt) / 1000);
    const stalled = await stalledCounts(redis.client(), prefix, allQueueNames(VENDORS));
    const meta = countPerRecipient(acceptedRecipients(sandbox, 'metabot'));
    const join = countPerRecipient(acceptedRecipients(sandbox, 'joinchat'));
    const failed = await Promise.all((['metabot', 'joinchat'] as const).map(async (v) => (await deliveryCounts(redis.client(), prefix, v)).failed));
    expect(failed).toEqual([0, 0]);
    expect(refusals).toBeGreaterThan(0); // the API really felt the restart
    // A job that was running when Redis went away may be re-run; the double-send ledger keeps that at or below them.
    expect(meta.duplicates + join.duplicates).toBeLessThanOrEqual(activeAtStop);
    expect(children.filter((c) => c.exited())).toEqual([]);
    console.info(`[redis-restart] 300 orders / 600 deliveries; ${refusals} API calls refused (503) while Redis restarted; ` +
      `${activeAtStop} deliveries active at the stop; duplicates ${meta.duplicates + join.duplicates}; all delivered ${settledS} s after the ` +
      `restart; jobs recovered by the stalled check: ${JSON.stringify(stalled)}`);
  });

  it('Redis down for 10 s: the producer and the API fail fast with a clear error, nothing is buffered, workers resume', async () => {
    // Deliveries waiting in their retry backoff when Redis goes: Metabot refuses connections for now.
    sandbox.setFaults('metabot', { refuseConnections: true });
    const before = testOrders('before', 20, ['metabotLeadId', 'messenger'], 1_000);
    await producer.orderPaidBulk(before);
    await waitFor(() => sandbox.requests('metabot').filter((r) => r.status === 0).length >= 20, 'Metabot refusing the first attempts', 30_000);

    await redis.stop({ keepData: true });
    const downAt = Date.now();
    const refused: OrderPaid[] = [];
    // Several calls during the outage, each refused quickly: no hang, no silent buffering.
    while (Date.now() - downAt < 8_000) {
      const order = testOrder('outage', 2_000 + refused.length, ['metabotLeadId', 'messenger']);
      const t0 = Date.now();
      await expect(producer.orderPaid(order)).rejects.toBeInstanceOf(RedisUnavailableError);
      const producerMs = Date.now() - t0;
      const t1 = Date.now();
      const res = await post(order);
      const apiMs = Date.now() - t1;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toEqual({ error: 'Redis is unavailable; retry later' });
      // The producer's own deadline is 3 s (timeoutMs); failing fast means well inside it, not after a hang.
      expect(producerMs).toBeLessThan(3_500);
      expect(apiMs).toBeLessThan(3_500);
      refused.push(order);
      await sleep(500);
    }
    expect((await fetch(`${api.url}/readyz`)).status).toBe(503);
    await sleep(Math.max(0, 10_000 - (Date.now() - downAt)));
    await redis.restart();
    sandbox.setFaults('metabot', { latencyMs: 20 });

    // Back up: new events go through the API and the producer as soon as they reconnect.
    const after = testOrders('after', 20, ['metabotLeadId', 'messenger'], 3_000);
    for (const order of after.slice(0, 10)) await postUntilAccepted(order);
    await waitFor(() => producer.orderPaidBulk(after.slice(10)).then(() => true, () => false), 'the producer to reconnect', 30_000, 200);
    await expectAllDelivered([...before, ...after], 'the orders queued before the outage and sent after it');

    // Nothing refused during the outage was kept and sent later behind the caller's back.
    const orders = new Queue(QUEUES.orders, { connection: redis.client(), prefix });
    const jobs = await orders.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed']);
    await orders.close();
    const enqueued = new Set(jobs.map((j) => (j.data as OrderPaid).orderId));
    expect(refused.filter((o) => enqueued.has(o.orderId))).toEqual([]);
    expect(await redis.client().exists(`${prefix}:${QUEUES.orders}:seen:${orderDedupId(refused[0]!.orderId)}`)).toBe(0);
    expect(children.filter((c) => c.exited())).toEqual([]);
    console.info(`[redis-outage] ${refused.length} producer calls and ${refused.length} API calls refused during a 10 s outage; ` +
      `${before.length + after.length} orders delivered after it`);
  });
});
