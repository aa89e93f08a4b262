import fc from 'fast-check';
import { Queue, type Job } from 'bullmq';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { deliveryQueueName, JOB_NAMES, QUEUES } from '../../src/queues/names.js';
import { WORKER_COMPONENTS } from '../../src/app/components.js';
import { startProcess, type RunningProcess } from '../../src/app/worker-process.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { VENDORS } from '../../src/vendors/registry.js';
import { OrderRecords } from '../../src/orders/record.js';
import { testOrders } from '../support/orders.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { uniquePrefix, workerEnv } from './harness.js';
import { hostileEvent } from './hostile-events.js';

/**
 * Scenario 5, second half: malformed jobs put straight into every queue that has a worker (orders, each deliver-*,
 * results-webhook, twin24-correlate; `results` is consumed by the monolith, not by us). Each must fail at once as
 * unrecoverable (no retries although the job allows 5 attempts) with a reason, while good orders put in between
 * are delivered by the same workers. The workers run in this process: a crash would fail the run.
 */
const PER_QUEUE = 200;
const ATTEMPTS = 5;
const SENT_OR_LATER = new Set(['sent', 'correlated', 'undelivered', 'error', 'expired', 'timed_out']);

const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  // The top-level __proto__ body is left out here: it is the event contract's own bug, reported by fuzz-events.
  hostileEvent.filter((c) => !(c.kind === 'prototype pollution' && c.field === '__proto__')).map((c) => c.body),
);
/** Delivery envelopes that look right but are not: another vendor's, junk payloads, missing or mistyped fields. */
const badEnvelope = (vendor: string) => fc.oneof(
  fc.record({ deliveryId: fc.string({ minLength: 1 }), orderId: fc.string({ minLength: 1 }), ruleId: fc.string({ minLength: 1 }),
    vendor: fc.constantFrom(...VENDORS.filter((v) => v !== vendor), 'nobody'), payload: fc.jsonValue({ maxDepth: 2 }), createdAt: fc.string() }),
  fc.record({ deliveryId: fc.string({ minLength: 1 }), orderId: fc.string({ minLength: 1 }), ruleId: fc.string({ minLength: 1 }),
    vendor: fc.constant(vendor), payload: fc.jsonValue({ maxDepth: 3 }), createdAt: fc.string() }),
  fc.record({ deliveryId: fc.oneof(fc.integer(), fc.constant('')), orderId: fc.constant(null), vendor: fc.constant(vendor) }, { requiredKeys: [] }),
);

interface Injected { queue: string; ids: string[] }

describe('malformed jobs in every queue', () => {
  let redis: TestRedis;
  let sandbox: Sandbox;
  let webhook: Server;
  let proc: RunningProcess;
  let producer: OrderNotifyProducer;
  const posted: Array<{ eventId: string; orderId: string; status: string }> = [];
  const prefix = uniquePrefix('fj');
  const injected: Injected[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    sandbox = await startSandbox();
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { posted.push(JSON.parse(body)); res.writeHead(200).end('{}'); });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const env = workerEnv({ url: redis.url }, prefix, sandbox, {
      ROUTES_FILE: 'config/routes.example.yaml', LOG_LEVEL: 'silent', METRICS_PORT: '0',
      RESULTS_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`, RESULTS_WEBHOOK_SECRET: 'webhook-secret-0123456789',
    });
    proc = await startProcess([...WORKER_COMPONENTS], { env, host: '127.0.0.1' });
    producer = createProducer({ redisUrl: redis.url, prefix });
  });
  afterAll(async () => {
    await proc?.close();
    await producer?.close();
    await sandbox?.close();
    await new Promise((r) => webhook?.close(r));
    await redis?.stop();
  });

  async function inject(queueName: string, jobs: Array<{ name: string; data: unknown }>): Promise<void> {
    const queue = new Queue(queueName, { connection: redis.client(), prefix });
    const added = await queue.addBulk(jobs.map((j) => ({ ...j, opts: { attempts: ATTEMPTS, backoff: { type: 'fixed', delay: 50 } } })));
    await queue.close();
    injected.push({ queue: queueName, ids: added.map((j) => j.id!) });
  }

  /** Waits until every job is completed or failed; returns each with its state. */
  async function finished(queueName: string, ids: string[]): Promise<Array<{ job: Job; state: string }>> {
    const queue = new Queue(queueName, { connection: redis.client(), prefix });
    try {
      return await waitFor(async () => {
        const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
        const states = await Promise.all(jobs.map((j) => j?.getState()));
        return states.every((s) => s === 'failed' || s === 'completed') ? jobs.map((job, i) => ({ job: job!, state: states[i]! })) : undefined;
      }, `the ${ids.length} malformed jobs of ${queueName} to finish`, 60_000, 200);
    } finally {
      await queue.close();
    }
  }

  const expectUnrecoverable = (queue: string, jobs: Array<{ job: Job; state: string }>) => {
    for (const { job, state } of jobs) {
      const seen = { queue, name: job.name, data: JSON.stringify(job.data).slice(0, 80), state, attemptsMade: job.attemptsMade, reasonSaysInvalid: /invalid/i.test(job.failedReason ?? '') };
      // Failed at once (not retried although the job allowed 5 attempts), with a reason a person can act on.
      expect(seen).toEqual({ ...seen, state: 'failed', attemptsMade: 1, reasonSaysInvalid: true });
    }
  };

  it('each fails unrecoverable with a reason while good orders are delivered by the same workers', async () => {
    const good = testOrders('goodjobs', 10, ['lineUserId', 'messenger', 'metabotLeadId', 'whatsappPhone']);
    await inject(QUEUES.orders, fc.sample(junk, PER_QUEUE / 2).map((data) => ({ name: JOB_NAMES.orderPaid, data })));
    for (const v of VENDORS) await inject(deliveryQueueName(v), fc.sample(badEnvelope(v), PER_QUEUE / 2).map((data) => ({ name: JOB_NAMES.delivery, data })));
    await producer.orderPaidBulk(good.slice(0, 5));
    await inject(QUEUES.orders, fc.sample(junk, PER_QUEUE / 2).map((data) => ({ name: JOB_NAMES.orderPaid, data })));
    for (const v of VENDORS) await inject(deliveryQueueName(v), fc.sample(junk, PER_QUEUE / 2).map((data) => ({ name: JOB_NAMES.delivery, data })));
    await inject(QUEUES.webhook, fc.sample(junk, PER_QUEUE).map((data) => ({ name: JOB_NAMES.webhook, data })));
    await producer.orderPaidBulk(good.slice(5));

    for (const { queue, ids } of injected) expectUnrecoverable(queue, await finished(queue, ids));

    const records = new OrderRecords(redis.client(), prefix, 86_400_000);
    await waitFor(async () => {
      const all = await Promise.all(good.map((o) => records.get(o.orderId)));
      return all.every((r) => {
        const live = r?.deliveries.filter((d) => d.status !== 'skipped') ?? [];
        return live.length === 4 && live.every((d) => SENT_OR_LATER.has(d.status));
      });
    }, 'every good order sent to MantaGO, JoinChat, Metabot and Twin24', 60_000, 250);
    await waitFor(() => good.every((o) => posted.filter((p) => p.orderId === o.orderId && p.status === 'sent').length === 4),
      'the webhook to receive every good delivery\'s "sent"', 30_000, 200);
    console.info(`[fuzz-jobs] ${injected.reduce((n, i) => n + i.ids.length, 0)} malformed jobs in ${new Set(injected.map((i) => i.queue)).size} queues ` +
      'failed unrecoverable; 10 good orders delivered to all four vendors and handed back');
  });

  it('a malformed job in the Twin24 correlator queue fails unrecoverable too (a tick takes no data)', async () => {
    const queue = QUEUES.correlate;
    await inject(queue, [
      ...fc.sample(fc.jsonValue({ maxDepth: 3 }).filter((d) => !(typeof d === 'object' && d !== null && !Array.isArray(d) && Object.keys(d).length === 0)), 10)
        .map((data) => ({ name: JOB_NAMES.correlateTick, data })),
      ...fc.sample(fc.string({ minLength: 1, maxLength: 20 }).filter((n) => n !== JOB_NAMES.correlateTick), 5).map((name) => ({ name, data: {} })),
    ]);
    expectUnrecoverable(queue, await finished(queue, injected.at(-1)!.ids));
  });
});
