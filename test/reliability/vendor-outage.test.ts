import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '../../src/config/env.js';
import { jitteredBackoff, retryEnvelopeMs } from '../../src/queues/backoff.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { countPerRecipient, testOrders } from '../support/orders.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor, sleep } from '../support/wait.js';
import { acceptedRecipients, deliveryCounts, uniquePrefix, workerEnv } from './harness.js';

/**
 * Scenario 4: a vendor outage and a flaky vendor. The promise: deliveries keep retrying for the whole retry
 * envelope (DELIVERY_ATTEMPTS × jittered exponential DELIVERY_BACKOFF capped at DELIVERY_BACKOFF_MAX), which by
 * default outlasts a 1-hour outage, and everything is delivered once the vendor is back. CI size: a 15 s outage
 * with a short backoff (the production-size claim is checked on the defaults, by arithmetic).
 */
const HOUR = 3_600_000;
const OUTAGE_MS = 15_000;
const TEST_RETRY = { DELIVERY_ATTEMPTS: '40', DELIVERY_BACKOFF: '200ms', DELIVERY_BACKOFF_MAX: '2s' };

/** The shortest a delivery can keep trying: every jittered wait at its minimum (half the capped exponential). */
function guaranteedEnvelopeMs(d: AppConfig['delivery']): number {
  let total = 0;
  for (let made = 1; made < d.attempts; made++) total += jitteredBackoff(made, d.backoffMs, d.backoffMaxMs, () => 0);
  return total;
}

describe('the retry envelope', () => {
  const defaults = loadConfig({}).delivery;

  it('is configurable: attempts and backoff come from DELIVERY_ATTEMPTS / DELIVERY_BACKOFF / DELIVERY_BACKOFF_MAX', () => {
    const tuned = loadConfig({ DELIVERY_ATTEMPTS: '50', DELIVERY_BACKOFF: '5s', DELIVERY_BACKOFF_MAX: '10m' }).delivery;
    expect(retryEnvelopeMs(tuned.attempts, tuned.backoffMs, tuned.backoffMaxMs)).toBeGreaterThan(6 * HOUR);
    const test = loadConfig(TEST_RETRY).delivery;
    // The CI-sized outage below is covered even by the unluckiest jitter.
    expect(guaranteedEnvelopeMs(test)).toBeGreaterThan(OUTAGE_MS * 2);
  });

  it('by default (retryEnvelopeMs, no jitter) spans more than a 1-hour vendor outage', () => {
    expect(retryEnvelopeMs(defaults.attempts, defaults.backoffMs, defaults.backoffMaxMs)).toBeGreaterThan(HOUR);
  });

  it('by default outlasts a 1-hour outage even when every jittered wait is at its minimum', () => {
    // jitteredBackoff waits 50-100 % of the capped exponential, so the guaranteed span is about half the envelope.
    const floor = guaranteedEnvelopeMs(defaults);
    expect(floor, `defaults ${JSON.stringify(defaults)} guarantee only ${(floor / 60_000).toFixed(1)} min of retrying`).toBeGreaterThan(HOUR);
  });
});

describe('vendor outage and a flaky vendor (real worker processes)', () => {
  let redis: TestRedis;
  let sandbox: Sandbox;
  let producer: OrderNotifyProducer;
  let records: OrderRecords;
  const prefix = uniquePrefix('vo');
  const children: ChildWorker[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    sandbox = await startSandbox();
    const env = workerEnv({ url: redis.url }, prefix, sandbox, TEST_RETRY);
    children.push(...await Promise.all([
      startChildWorker('workers/fanout.ts', env),
      startChildWorker('workers/metabot.ts', env),
      startChildWorker('workers/joinchat.ts', env),
    ]));
    producer = createProducer({ redisUrl: redis.url, prefix });
    records = new OrderRecords(redis.client(), prefix, 86_400_000);
  });
  afterAll(async () => {
    await producer?.close();
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await sandbox?.close();
    await redis?.stop();
  });

  async function expectDeliveredOnce(orders: OrderPaid[]) {
    const leads = orders.map((o) => String(o.customer.channels.metabotLeadId));
    const psids = orders.map((o) => o.customer.channels.messenger!.psid!);
    await waitFor(() => {
      const m = new Set(acceptedRecipients(sandbox, 'metabot'));
      const j = new Set(acceptedRecipients(sandbox, 'joinchat'));
      return leads.every((l) => m.has(l)) && psids.every((p) => j.has(p));
    }, 'every delivery accepted by the sandbox', 90_000, 200);
    // Refused and 503-answered requests were never processed by the vendor, so nothing may arrive twice.
    expect(countPerRecipient(acceptedRecipients(sandbox, 'metabot')).duplicates).toBe(0);
    expect(countPerRecipient(acceptedRecipients(sandbox, 'joinchat')).duplicates).toBe(0);
    await waitFor(async () => {
      const all = await Promise.all(orders.map((o) => records.get(o.orderId)));
      return all.every((r) => r?.deliveries.length === 2 && r.deliveries.every((d) => d.status === 'sent'));
    }, 'every delivery recorded as sent', 30_000, 250);
    for (const v of ['metabot', 'joinchat'] as const) expect((await deliveryCounts(redis.client(), prefix, v)).failed).toBe(0);
  }

  it(`delivers everything after a ${OUTAGE_MS / 1000} s outage of both vendors (connections refused)`, async () => {
    sandbox.setFaults('metabot', { refuseConnections: true });
    sandbox.setFaults('joinchat', { refuseConnections: true });
    const startedAt = Date.now();
    const orders = testOrders('outage', 100, ['metabotLeadId', 'messenger']);
    await producer.orderPaidBulk(orders);
    // Every delivery has failed at least once and is waiting in its backoff.
    await waitFor(async () => {
      const all = await Promise.all(orders.map((o) => records.get(o.orderId)));
      return all.every((r) => r?.deliveries.length === 2 && r.deliveries.every((d) => d.status === 'retrying'));
    }, 'every delivery retrying during the outage', 30_000, 200);
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - startedAt)));
    expect(sandbox.accepted().length).toBe(0);
    const refused = sandbox.requests().length;
    sandbox.setFaults('metabot', {});
    sandbox.setFaults('joinchat', {});

    await expectDeliveredOnce(orders);
    const attempts = (await Promise.all(orders.map((o) => records.get(o.orderId)))).flatMap((r) => r!.deliveries.map((d) => d.attempts ?? 0));
    expect(Math.min(...attempts)).toBeGreaterThan(1);
    console.info(`[vendor-outage] ${OUTAGE_MS / 1000} s outage: ${refused} refused attempts, then all 200 deliveries sent once ` +
      `(attempts per delivery ${Math.min(...attempts)}-${Math.max(...attempts)})`);
  });

  it('delivers everything, once, through a phase where 30 % of vendor requests answer 503', async () => {
    sandbox.reset();
    sandbox.setFaults('metabot', { errorRate: 0.3 });
    sandbox.setFaults('joinchat', { errorRate: 0.3 });
    const orders = testOrders('flaky', 200, ['metabotLeadId', 'messenger'], 1_000);
    await producer.orderPaidBulk(orders);
    await expectDeliveredOnce(orders);
    const answered503 = sandbox.requests().filter((r) => r.status === 503).length;
    expect(answered503).toBeGreaterThan(0);
    console.info(`[vendor-flaky] 400 deliveries through 30 % 503s: ${answered503} requests answered 503, all delivered once`);
  });
});
