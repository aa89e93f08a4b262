import { Queue } from 'bullmq';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { retention } from '../../src/queues/options.js';
import { startIpcProcess, type NodeChild } from '../harness/processes.js';
import type { BenchContext } from '../harness/types.js';
import { workerEnv } from '../harness/workload.js';

/** The baseline side of a run: the bare worker process and the queue the bench process fills. */
export interface BarePipeline {
  queue: Queue;
  worker: NodeChild;
  enqueue(events: OrderPaid[], chunk?: number): Promise<void>;
  stop(): Promise<void>;
}

const QUEUE = 'bare';

export async function startBare(ctx: BenchContext, vendor: 'metabot' | 'twin24', prefix: string, concurrency = 100): Promise<BarePipeline> {
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
  return {
    queue,
    worker,
    async enqueue(events, chunk = 1_000) {
      for (let i = 0; i < events.length; i += chunk) {
        await queue.addBulk(events.slice(i, i + chunk).map((e) => ({ name: 'order.paid', data: e })));
      }
    },
    async stop() {
      await worker.stop();
      await queue.close();
    },
  };
}
