/**
 * The baseline: what a user would write instead of order-notify. One BullMQ worker on one queue of order.paid
 * events; each job is one axios POST (keep-alive) to the vendor. Run as its own process, like our workers.
 * Env: REDIS_URL, BARE_QUEUE, BARE_PREFIX, BARE_VENDOR, BARE_CONCURRENCY + the vendor's sandbox URL/credentials.
 */
import http from 'node:http';
import axios from 'axios';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { bareTarget, MIXED_TARGETS, type BareTarget, type MixedTarget } from './targets.js';

const env = process.env;
// BARE_VENDOR=mixed: each job names its target ({ target, event }), the 4-rules-per-order workload.
const mixed = env.BARE_VENDOR === 'mixed';
const targets = new Map<string, BareTarget>(mixed
  ? MIXED_TARGETS.map((t) => [t, bareTarget(t, env)])
  : [['only', bareTarget(env.BARE_VENDOR ?? '', env)]]);
const client = axios.create({ timeout: 10_000, httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }) });
const connection = new Redis(env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });

type BareJob = OrderPaid | { target: MixedTarget; event: OrderPaid };

const worker = new Worker<BareJob>(
  env.BARE_QUEUE ?? 'bare',
  async (job) => {
    const data = job.data as { target?: MixedTarget; event?: OrderPaid };
    const target = targets.get(mixed ? String(data.target) : 'only')!;
    const event = (mixed ? data.event : job.data) as OrderPaid;
    if (target.signed) {
      const { raw, headers } = target.signed(event);
      await client.post(target.url, raw, { headers });
    } else {
      await client.post(target.url, target.body(event), { headers: target.headers });
    }
  },
  { connection, prefix: env.BARE_PREFIX ?? 'bare', concurrency: Number(env.BARE_CONCURRENCY ?? 100) },
);
worker.on('error', (err) => console.error('worker error', err.message));

await worker.waitUntilReady();
process.send?.('ready');

process.once('SIGTERM', () => {
  void worker.close().then(() => connection.quit()).then(() => process.exit(0), () => process.exit(1));
});
