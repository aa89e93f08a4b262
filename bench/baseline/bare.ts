import { Queue } from 'bullmq';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { retention } from '../../src/queues/options.js';
import { startIpcProcess, type NodeChild } from '../harness/processes.js';
import type { BenchContext } from '../harness/types.js';
import { workerEnv } from '../harness/workload.js';
import { MIXED_TARGETS } from './targets.js';

/** The baseline side of a run: the bare worker process and the queue the bench process fills. */
export interface BarePipeline {
  queue: Queue;
  worker: NodeChild;
  /** One job per event, or with vendor 'mixed' one job per event and target (4 per event), `chunk` jobs per addBulk. */
  enqueue(events: OrderPaid[], chunk?: number): Promise<void>;
  /** Jobs per event. */
  perEvent: number;
  stop(): Promise<void>;
}

const QUEUE = 'bare';

export async function startBare(ctx: BenchContext, vendor: 'metabot' | 'twin24' | 'mixed', prefix: string, concurrency = 100): Promise<BarePipeline> {
  const env = {
    ...workerEnv(ctx.redis.url, prefix, ctx.sandbox),
    TWIN24_TOKEN: ctx.sandbox.credentials.twin24.staticToken,
    BARE_QUEUE: QUEUE, BARE_PREFIX: prefix, BARE_VENDOR: vendor, BARE_CONCURRENCY: String(concurrency),
  };
  const worker = await startIpcProcess('bench/baseline/bare-worker.ts', { name: `${prefix}-bare-${vendor}`, env, runtime: ctx.runtime, logDir: ctx.logDir, profileDir: ctx.profileDir });
  // Same retention and retry envelope as our delivery jobs, so Redis does the same bookkeeping per job.
  const queue = new Queue(QUEUE, {
    connection: ctx.redis.client,
    prefix,
    defaultJobOptions: {
      attempts: 30, backoff: { type: 'exponential', delay: 2_000 },
      ...retention({ jobs: { keepCompletedMs: 86_400_000, keepFailedMs: 14 * 86_400_000 } }),
    },
  });
  const jobsOf = vendor === 'mixed'
    ? (e: OrderPaid) => MIXED_TARGETS.map((target) => ({ name: target, data: { target, event: e } as unknown as OrderPaid }))
    : (e: OrderPaid) => [{ name: 'order.paid', data: e }];
  return {
    queue,
    worker,
    perEvent: vendor === 'mixed' ? MIXED_TARGETS.length : 1,
    async enqueue(events, chunk = 1_000) {
      const jobs = events.flatMap(jobsOf);
      for (let i = 0; i < jobs.length; i += chunk) await queue.addBulk(jobs.slice(i, i + chunk));
    },
    async stop() {
      await worker.stop();
      await queue.close();
    },
  };
}
