import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRoutes, type Route } from '../../src/fanout/routes.js';
import { createVendorDeliveryWorker, type DeliveryWorker } from '../../src/app/delivery-worker.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis } from '../../src/queues/connection.js';
import { deliveryQueueName } from '../../src/queues/names.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { sandboxEnv, testConfig } from '../support/config.js';
import { startFrontHalf } from '../support/pipeline.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

/** The example routes' MantaGO rules; facebook-thanks' 90 s queue delay replaced (none by default). */
function mantagoRoutes(facebookDelay?: string): Route[] {
  const raw = parseYaml(readFileSync('config/routes.example.yaml', 'utf8')) as { rules: Array<Record<string, unknown>> };
  raw.rules = raw.rules
    .filter((r) => r.vendor === 'mantago')
    .map((r) => (r.id === 'facebook-thanks' ? { ...r, delay: facebookDelay } : r));
  return parseRoutes(raw);
}

function order(id: string, channels: OrderPaid['customer']['channels']): OrderPaid {
  return { ...SAMPLE_ORDER_PAID, orderId: id, customer: { ...SAMPLE_ORDER_PAID.customer, channels } };
}

let redis: TestRedis;
let sandbox: Sandbox;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redis = await startRedis();
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
  await redis.stop();
});
beforeEach(() => sandbox.reset());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** producer → fan-out (example MantaGO routes) → the MantaGO delivery worker → sandbox, on a fresh prefix. */
function pipeline(opts: { env?: Record<string, string>; routes?: Route[]; startWorker?: boolean } = {}) {
  const config = testConfig(redis.url, { ...sandboxEnv(sandbox), MANTAGO_RATE_LIMIT: '100/1s', ...opts.env });
  const front = startFrontHalf(config, opts.routes ?? mantagoRoutes());
  cleanups.push(() => front.close());
  let delivery: DeliveryWorker | undefined;
  const startWorker = () => {
    const connection = createRedis(config.redis, 'worker');
    delivery = createVendorDeliveryWorker({
      vendor: 'mantago', config, connection,
      records: new OrderRecords(connection, config.queuePrefix, config.orderRetentionMs),
      metrics: new Metrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }),
    });
    cleanups.push(async () => { await delivery!.close(5_000); connection.disconnect(); });
    return delivery;
  };
  if (opts.startWorker !== false) startWorker();
  /** Waits until the fan-out has queued n MantaGO deliveries (the backlog the worker then meets at start). */
  const backlog = async (n: number) => {
    const q = new Queue(deliveryQueueName('mantago'), { connection: front.connection, prefix: config.queuePrefix });
    await waitFor(async () => ((await q.getJobCounts('wait')).wait ?? 0) >= n, `${n} queued deliveries`);
    await q.close();
  };
  return { config, front, startWorker, backlog, queue: () => delivery!.queue };
}

const broadcasts = () => sandbox.accepted('mantago').filter((r) => r.path === '/openapi/broadcast');
const acceptedClients = () => broadcasts().flatMap((r) => (r.body as { clientIds: string[] }).clientIds);
const countBy = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());

const finished = (queue: Queue, n: number, timeoutMs = 30_000) => waitFor(async () => {
  const c = await queue.getJobCounts('completed', 'failed');
  return (c.completed ?? 0) + (c.failed ?? 0) >= n && c;
}, `${n} finished MantaGO jobs`, timeoutMs);

describe('MantaGO delivery through the real path', () => {
  it('sends the exact documented bytes for both example routes and records them sent', async () => {
    const p = pipeline();
    await p.front.producer.orderPaid(SAMPLE_ORDER_PAID);
    await finished(p.queue(), 2);
    const c = sandbox.credentials.mantago;
    const sent = broadcasts().sort((a, b) => a.rawBody.localeCompare(b.rawBody));
    expect(sent.map((r) => r.rawBody)).toEqual([
      `{"botId":"${c.botId}","clientIds":["6143254789012345"],"platform":"facebook","secret":"${c.secret}",`
        + '"message":"Thank you Somchai Jaidee! Order SAMPLE-1001 is paid: 1290.00 THB.","fbTag":"POST_PURCHASE_UPDATE","name":"order-paid-facebook"}',
      `{"botId":"${c.botId}","clientIds":["U4af4980629"],"platform":"line","secret":"${c.secret}","intentId":"rb2kYmMdW","name":"order-paid-line"}`,
    ]);
    for (const r of sent) {
      expect(r.query).toEqual({ botId: c.botId });
      expect(r.headers.authorization).toBe(`Bearer ${c.token}`);
    }
    const record = await p.front.producer.getOrder('SAMPLE-1001');
    const statuses = Object.fromEntries(Object.values(record!.deliveries).map((d) => [d.ruleId, d.status]));
    expect(statuses).toEqual({ 'line-thanks': 'sent', 'facebook-thanks': 'sent' });
  });

  it('a delayed delivery (2 s) is not sent before its delay and is sent after it', async () => {
    const p = pipeline({ routes: mantagoRoutes('2s') });
    const t0 = Date.now();
    await p.front.producer.orderPaid(order('D-1', { facebookUserId: 'F-delayed' }));
    await waitFor(async () => ((await p.queue().getJobCounts('delayed')).delayed ?? 0) === 1, 'the delivery held as delayed');
    expect(broadcasts()).toHaveLength(0);
    const [rec] = await waitFor(() => broadcasts().length > 0 && broadcasts(), 'the delayed broadcast', 10_000);
    expect(rec!.at - t0).toBeGreaterThanOrEqual(2_000);
    expect((rec!.body as { clientIds: string[] }).clientIds).toEqual(['F-delayed']);
  });

  it('bad credentials fail the job at once (unrecoverable) with "mantago 1002", never leaking the token', async () => {
    const p = pipeline({ env: { MANTAGO_TOKEN: 'wrong-token-123', MANTAGO_SECRET: 'wrong-secret-456' } });
    await p.front.producer.orderPaid(order('B-1', { lineUserId: 'U-bad-creds' }));
    await finished(p.queue(), 1);
    const [job] = await p.queue().getJobs(['failed']);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/^mantago 1002: Permission denied/);
    expect(JSON.stringify(job?.toJSON())).not.toMatch(/wrong-token-123|wrong-secret-456/);
    expect(sandbox.requests('mantago')).toHaveLength(1);
  });

  it('a permanent 4xx (unknown client, 37011) is not retried', async () => {
    const p = pipeline();
    await p.front.producer.orderPaid(order('P-1', { facebookUserId: 'unknown-customer' }));
    await finished(p.queue(), 1);
    const [job] = await p.queue().getJobs(['failed']);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toBe('mantago 37011: client not found: unknown-customer');
    expect(sandbox.requests('mantago')).toHaveLength(1);
  });

  it('30 % injected 5xx over 100 deliveries: every delivery accepted exactly once', async () => {
    sandbox.setFaults('mantago', { errorRate: 0.3 });
    const p = pipeline();
    await p.front.producer.orderPaidBulk(Array.from({ length: 50 }, (_, i) => order(`E-${i}`, { lineUserId: `L-${i}`, facebookUserId: `F-${i}` })));
    await finished(p.queue(), 100, 45_000);
    expect((await p.queue().getJobCounts('failed')).failed).toBe(0);
    const counts = countBy(acceptedClients());
    expect(counts.size).toBe(100);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(sandbox.requests('mantago').filter((r) => r.status === 503).length).toBeGreaterThan(0);
  });

  it('429 bursts: everything is delivered later, without long runs of 429s', async () => {
    // The vendor takes 10 requests a second, we are configured for 40: every second ends in a 429 and a pause.
    sandbox.setFaults('mantago', { rateLimit: { max: 10, durationMs: 1_000, retryAfterSec: 1 } });
    const p = pipeline({ env: { MANTAGO_RATE_LIMIT: '40/1s' } });
    await p.front.producer.orderPaidBulk(Array.from({ length: 60 }, (_, i) => order(`R-${i}`, { facebookUserId: `F-${i}` })));
    await finished(p.queue(), 60, 45_000);
    expect((await p.queue().getJobCounts('failed')).failed).toBe(0);
    const counts = countBy(acceptedClients());
    expect(counts.size).toBe(60);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    const statuses = sandbox.requests('mantago').map((r) => r.status);
    const limited = statuses.filter((s) => s === 429).length;
    let run = 0;
    let longestRun = 0;
    for (const s of statuses) longestRun = Math.max(longestRun, run = s === 429 ? run + 1 : 0);
    expect(limited).toBeGreaterThan(0);
    expect(limited).toBeLessThan(60 / 2);
    expect(longestRun).toBeLessThanOrEqual(10);
  });
});

describe('MantaGO batching', () => {
  it('300 identical-intent deliveries at backlog go out in few broadcasts (≥ 50 recipients each on average)', async () => {
    const p = pipeline({ startWorker: false });
    await p.front.producer.orderPaidBulk(Array.from({ length: 300 }, (_, i) => order(`B-${i}`, { lineUserId: `L-${i}` })));
    await p.backlog(300);
    const worker = p.startWorker();
    await finished(worker.queue, 300);
    expect((await worker.queue.getJobCounts('failed')).failed).toBe(0);
    const sent = broadcasts();
    const counts = countBy(acceptedClients());
    expect(counts.size).toBe(300);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    console.info(`[mantago batching] 300 deliveries in ${sent.length} broadcasts: ${sent.map((r) => (r.body as { clientIds: string[] }).clientIds.length).join(', ')}`);
    expect(300 / sent.length).toBeGreaterThanOrEqual(50);
    for (const r of sent) expect(r.body).toMatchObject({ platform: 'line', intentId: 'rb2kYmMdW', name: 'order-paid-line' });
    expect(Math.max(...sent.map((r) => (r.body as { clientIds: string[] }).clientIds.length))).toBeLessThanOrEqual(100);
  });

  it('personalised texts are sent one per request', async () => {
    const p = pipeline({ startWorker: false });
    await p.front.producer.orderPaidBulk(Array.from({ length: 20 }, (_, i) => order(`T-${i}`, { facebookUserId: `F-${i}` })));
    await p.backlog(20);
    const worker = p.startWorker();
    await finished(worker.queue, 20);
    const sent = broadcasts();
    expect(sent).toHaveLength(20);
    for (const r of sent) {
      const body = r.body as { clientIds: string[]; message: string };
      expect(body.clientIds).toHaveLength(1);
      expect(body.message).toContain(`Order T-${body.clientIds[0]!.slice(2)} is paid`);
    }
  });

  it('two orders of the same customer in one batch: that client gets two broadcasts, never one with its id twice', async () => {
    const p = pipeline({ startWorker: false });
    await p.front.producer.orderPaidBulk(Array.from({ length: 10 }, (_, i) => order(`S-${i}`, { lineUserId: i < 2 ? 'L-same' : `L-${i}` })));
    await p.backlog(10);
    const worker = p.startWorker();
    await finished(worker.queue, 10);
    expect((await worker.queue.getJobCounts('completed')).completed).toBe(10);
    for (const r of broadcasts()) {
      const ids = (r.body as { clientIds: string[] }).clientIds;
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(countBy(acceptedClients()).get('L-same')).toBe(2);
    expect(broadcasts().length).toBeLessThanOrEqual(3);
  });

  it('one unknown client id in a batch fails alone; the others are delivered once', async () => {
    const p = pipeline({ startWorker: false });
    await p.front.producer.orderPaidBulk(Array.from({ length: 40 }, (_, i) => order(`U-${i}`, { lineUserId: i === 17 ? 'unknown-17' : `L-${i}` })));
    await p.backlog(40);
    const worker = p.startWorker();
    await finished(worker.queue, 40);
    const failed = await worker.queue.getJobs(['failed']);
    expect(failed.map((j) => j.id)).toEqual(['line-thanks.U-17']);
    expect(failed[0]!.failedReason).toBe('mantago 37011: client not found: unknown-17');
    expect(failed[0]!.attemptsMade).toBe(1);
    const counts = countBy(acceptedClients());
    expect(counts.size).toBe(39);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    // The first request carried the unknown id together with others (it was batched, not sent alone from the start).
    const first = sandbox.requests('mantago')[0]!;
    expect(first.status).toBe(404);
    expect((first.body as { clientIds: string[] }).clientIds.length).toBeGreaterThan(1);
    console.info(`[mantago 37011 split] 40 deliveries with one unknown id: ${sandbox.requests('mantago').length} requests`);
    expect(sandbox.requests('mantago').length).toBeLessThan(20);
  });
});
