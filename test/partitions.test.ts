import { Writable } from 'node:stream';
import { Readable } from 'node:stream';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_COMPONENTS } from '../src/app/components.js';
import { startProcess, type RunningProcess } from '../src/app/worker-process.js';
import { main } from '../src/cli/main.js';
import { loadConfig } from '../src/config/env.js';
import { HeldDeliveries } from '../src/delivery/held.js';
import { recordsFor } from '../src/orders/handback.js';
import { createProducer } from '../src/producer/producer.js';
import { deliveryQueueNames, deliveryQueueOf, QUEUES, vendorGroup } from '../src/queues/names.js';
import { queueAt, workerAt } from '../src/queues/options.js';
import { startSandbox, type Sandbox } from '../src/sandbox/index.js';
import { sandboxEnv } from './support/config.js';
import { countPerRecipient, testOrders } from './support/orders.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { waitFor } from './support/wait.js';

const ROUTES_FILE = 'test/reliability/fixtures/routes.yaml';

/** Metabot's lead_id of each request the sandbox accepted (one request = one delivery). */
const metabotLeads = (sandbox: Sandbox) => sandbox.accepted('metabot').map((r) => String((r.body as { lead_id?: number }).lead_id));
const joinchatPsids = (sandbox: Sandbox) => sandbox.accepted('joinchat').map((r) => String((r.body as { recipient?: { id?: string } }).recipient?.id));

/**
 * Delivery-queue partitions (QUEUE_PARTITIONS) and the per-queue key layout (REDIS_KEY_LAYOUT), through the whole
 * path in one process: producer → fan-out → Metabot and JoinChat workers → sandbox.
 */
describe('partitions and key layouts (fan-out + vendor workers, real Redis, sandbox)', () => {
  let redis: TestRedis;
  let sandbox: Sandbox;
  const running: RunningProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.close()));
    await sandbox?.close();
    await redis?.stop();
  });

  async function start(prefix: string, extra: Record<string, string>) {
    const env = {
      REDIS_URL: redis.url, QUEUE_PREFIX: prefix, ROUTES_FILE, ...sandboxEnv(sandbox), METRICS_PORT: '0', LOG_LEVEL: 'warn',
      METABOT_RATE_LIMIT: '100000/1s', JOINCHAT_RATE_LIMIT: '100000/1s', DELIVERY_BACKOFF: '100ms', DELIVERY_BACKOFF_MAX: '1s',
      SHUTDOWN_TIMEOUT: '2s', DASHBOARD_ENABLED: 'false', ...extra,
    };
    const logs: string[] = [];
    const proc = await startProcess(['fanout', 'metabot', 'joinchat'], {
      env, host: '127.0.0.1', logDestination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }),
    });
    running.push(proc);
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    const producer = createProducer({ redisUrl: redis.url, prefix: config.queuePrefix, keyLayout: config.keyLayout });
    return { proc, config, producer, logs };
  }

  it('QUEUE_PARTITIONS=metabot=4: deliveries spread over the four partitions, each sent exactly once', async () => {
    sandbox.reset();
    const { proc, config, producer, logs } = await start('part', { QUEUE_PARTITIONS: 'metabot=4' });
    const orders = testOrders('part', 40, ['metabotLeadId', 'messenger']);
    try {
      await producer.orderPaidBulk(orders);
      await waitFor(() => new Set(metabotLeads(sandbox)).size === 40 && new Set(joinchatPsids(sandbox)).size === 40, 'every delivery sent', 30_000, 100);
      const records = recordsFor(config, redis.client());
      await waitFor(async () => (await Promise.all(orders.map((o) => records.get(o.orderId))))
        .every((r) => r?.deliveries.length === 2 && r.deliveries.every((d) => d.status === 'sent')), 'every record sent', 15_000);
      expect(countPerRecipient(metabotLeads(sandbox)).duplicates).toBe(0);
      expect(metabotLeads(sandbox)).toHaveLength(40);

      const conn = redis.client();
      const completed = await Promise.all(deliveryQueueNames('metabot', 4).map(async (name) => {
        const q = new Queue(name, { connection: conn, prefix: 'part' });
        try { return [name, await q.getCompletedCount()] as const; } finally { await q.close(); }
      }));
      console.info(`[partitions] completed per partition: ${completed.map(([n, c]) => `${n}=${c}`).join(', ')}`);
      expect(completed.map(([, c]) => c).reduce((a, b) => a + b)).toBe(40);
      expect(completed.every(([, c]) => c > 0)).toBe(true);
      // Nothing in the unpartitioned name.
      expect(await conn.keys('part:deliver-metabot:*')).toEqual([]);
      // The queue-depth gauges report each partition under its own name.
      const scrape = await proc.metrics.scrape();
      for (const name of deliveryQueueNames('metabot', 4)) expect(scrape).toContain(`queue="${name}"`);
      expect(logs.filter((l) => /"level":(50|60)|"level":"(error|fatal)"/.test(l))).toEqual([]);
    } finally {
      await producer.close();
    }
  });

  it('REDIS_KEY_LAYOUT=per-queue: each queue (and partition) under its own hash tag, the vendors\' keys beside their queue', async () => {
    sandbox.reset();
    const { config, producer, logs } = await start('pq', { REDIS_KEY_LAYOUT: 'per-queue', QUEUE_PARTITIONS: 'metabot=2' });
    const orders = testOrders('pq', 10, ['metabotLeadId', 'messenger']);
    try {
      await producer.orderPaidBulk(orders);
      await waitFor(() => new Set(metabotLeads(sandbox)).size === 10 && new Set(joinchatPsids(sandbox)).size === 10, 'every delivery sent', 30_000, 100);
      expect(countPerRecipient(metabotLeads(sandbox)).duplicates).toBe(0);
      expect(config.keys.queuePrefix('deliver-metabot-0')).toBe('pq:{deliver-metabot-0}');
      // The records (parts beside each delivery's queue) say sent too.
      const records = recordsFor(config, redis.client());
      await waitFor(async () => (await Promise.all(orders.map((o) => records.get(o.orderId))))
        .every((r) => r?.deliveries.length === 2 && r.deliveries.every((d) => d.status === 'sent')), 'every record sent', 15_000);

      const keys = await redis.client().keys('pq:*');
      const has = (pattern: RegExp) => keys.some((k) => pattern.test(k));
      expect(has(/^pq:\{orders\}:orders:/)).toBe(true);
      expect(has(/^pq:\{deliver-metabot-0\}:deliver-metabot-0:/)).toBe(true);
      expect(has(/^pq:\{deliver-metabot-1\}:deliver-metabot-1:/)).toBe(true);
      expect(has(/^pq:\{deliver-joinchat\}:deliver-joinchat:/)).toBe(true);
      expect(has(/^pq:\{deliver-metabot\}:ratelimit:metabot/)).toBe(true);
      // Every BullMQ key of a queue carries that queue's own tag: no queue keys left under the bare prefix.
      const queueNames = ['orders', 'deliver-metabot-0', 'deliver-metabot-1', 'deliver-joinchat', 'fallback-deadlines', 'results', 'results-webhook'];
      const untagged = keys.filter((k) => queueNames.some((q) => k.startsWith(`pq:${q}:`)));
      expect(untagged).toEqual([]);
      const mistagged = keys.flatMap((k) => {
        const m = /^pq:\{([^}]+)\}:([^:]+):/.exec(k);
        return m && queueNames.includes(m[2]!) && m[1] !== m[2] ? [k] : [];
      });
      expect(mistagged).toEqual([]);
      expect(logs.filter((l) => /"level":(50|60)|"level":"(error|fatal)"/.test(l))).toEqual([]);
    } finally {
      await producer.close();
    }
  });

  it('REDIS_KEY_LAYOUT=per-queue, every component: MantaGO and Twin24 batching, the correlator, hand-back; vendor keys beside their queue', async () => {
    sandbox.reset();
    const env = {
      REDIS_URL: redis.url, QUEUE_PREFIX: 'pqall', REDIS_KEY_LAYOUT: 'per-queue', QUEUE_PARTITIONS: 'twin24=2', ...sandboxEnv(sandbox),
      ROUTES_FILE: 'config/routes.example.yaml', METRICS_PORT: '0', LOG_LEVEL: 'warn', TWIN24_POLL_EVERY: '1s', DASHBOARD_ENABLED: 'false',
      SHUTDOWN_TIMEOUT: '2s',
    };
    const logs: string[] = [];
    const proc = await startProcess([...WORKER_COMPONENTS], {
      env, host: '127.0.0.1', logDestination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }),
    });
    running.push(proc);
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    const producer = createProducer({ redisUrl: redis.url, prefix: config.queuePrefix, keyLayout: config.keyLayout });
    const records = recordsFor(config, redis.client());
    try {
      const orders = testOrders('pqall', 8, ['lineUserId', 'messenger', 'metabotLeadId', 'whatsappPhone'], 700);
      await producer.orderPaidBulk(orders);
      const twin24Final = new Set(['correlated', 'undelivered', 'error', 'expired']);
      await waitFor(async () => (await Promise.all(orders.map((o) => records.get(o.orderId)))).every((r) => {
        const primaries = r?.deliveries.filter((d) => d.status !== 'skipped' && (!d.chain || d.chain.link === 0)) ?? [];
        return primaries.length === 4 && primaries.every((d) => (d.vendor === 'twin24' ? twin24Final.has(d.status) : d.status === 'sent'));
      }), 'MantaGO, JoinChat and Metabot sent, each Twin24 message correlated to a final status', 30_000, 200);
      const keys = await redis.client().keys('pqall:*');
      const has = (pattern: RegExp) => keys.some((k) => pattern.test(k));
      // Every Twin24 message reached a final status: the correlator found the pending messages the adapter wrote, both
      // beside Twin24's queue, with the token they share (the pending set is empty again by now).
      expect(has(/^pqall:\{deliver-twin24\}:twin24:auth$/)).toBe(true);
      expect(has(/^pqall:\{deliver-mantago\}:ratelimit:mantago$/)).toBe(true);
      expect(has(/^pqall:\{deliver-twin24-[01]\}:deliver-twin24-[01]:/)).toBe(true);
      expect(has(/^pqall:\{deliver-mantago\}:mantago:credentials:/)).toBe(true);
      expect(has(/^pqall:\{twin24-correlate\}:twin24-correlate:/)).toBe(true);
      expect(keys.filter((k) => !k.startsWith('pqall:{'))).toEqual([]);
      expect(logs.filter((l) => /"level":(50|60)|"level":"(error|fatal)"/.test(l))).toEqual([]);
    } finally {
      await producer.close();
    }
  });

  it('the CLI lists and retries failed jobs of every partition, and held release sends to the delivery\'s partition', async () => {
    const env = { REDIS_URL: redis.url, QUEUE_PREFIX: 'clip', REDIS_KEY_LAYOUT: 'per-queue', QUEUE_PARTITIONS: 'metabot=3', LOG_LEVEL: 'silent' };
    const config = loadConfig(env);
    const cli = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(argv, { stdout: { write: (t: string) => { stdout += t; } }, stderr: { write: (t: string) => { stderr += t; } }, stdin: Readable.from(['']), env });
      return { code, stdout, stderr };
    };
    const job = (n: number) => ({
      deliveryId: `metabot-followup.CLI-${n}`, orderId: `CLI-${n}`, ruleId: 'metabot-followup', vendor: 'metabot',
      payload: { script_code: 'order_paid_followup', lead_id: n + 1 }, createdAt: new Date().toISOString(),
    });
    const names = deliveryQueueNames('metabot', 3);
    const queues = names.map((n) => new Queue(n, { connection: redis.client(), ...queueAt(config.keys, n) }));
    const workers = names.map((n) => new Worker(n, async () => { throw new UnrecoverableError('metabot 400: lead not found'); }, {
      connection: { url: redis.url }, ...workerAt(config.keys, n),
    }));
    try {
      for (const [k, q] of queues.entries()) await q.add('delivery', job(k), { jobId: job(k).deliveryId });
      await waitFor(async () => (await Promise.all(queues.map((q) => q.getFailedCount()))).every((c) => c === 1), 'one failed job per partition');
      await Promise.all(workers.map((w) => w.close()));

      const failed = JSON.parse((await cli(['failed', '--vendor', 'metabot', '--json'])).stdout) as { total: number };
      expect(failed.total).toBe(3);
      const retry = await cli(['retry-failed', '--vendor', 'metabot']);
      expect(retry.stdout, retry.stderr).toContain('retried 3 failed delivery job(s) (metabot 3)');
      expect(await Promise.all(queues.map((q) => q.getWaitingCount()))).toEqual([1, 1, 1]);

      // A held delivery lives beside its vendor's queue; release --send puts it in the partition its id hashes to.
      const held = job(7);
      await new HeldDeliveries(redis.client(), config.keys.beside(vendorGroup('metabot')))
        .hold({ job: held, attempt: { requestId: 'req-12345678', at: new Date().toISOString(), recipients: 1 }, heldAt: new Date().toISOString() });
      const list = JSON.parse((await cli(['held', 'list', '--json'])).stdout) as { held: Array<{ deliveryId: string }> };
      expect(list.held.map((h) => h.deliveryId)).toEqual([held.deliveryId]);
      const release = await cli(['held', 'release', held.deliveryId, '--send']);
      expect(release.code, release.stderr).toBe(0);
      const target = queues[names.indexOf(deliveryQueueOf('metabot', held.deliveryId, 3))]!;
      expect((await target.getJobs(['waiting'])).map((j) => j.data.deliveryId)).toContain(held.deliveryId);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(queues.map((q) => q.close()));
    }
  });
});
