import { Queue } from 'bullmq';
import { loadConfig } from '../../src/config/env.js';
import { loadRoutesFile } from '../../src/fanout/routes.js';
import { planFanout } from '../../src/fanout/plan.js';
import { deliveryQueueName, JOB_NAMES } from '../../src/queues/names.js';
import { deliveryJobOptions } from '../../src/queues/options.js';
import { BENCH_VENDORS, type BenchVendor } from '../harness/workload.js';
import { addVendorProcesses, enqueueEvents, startOurPipeline, waitFinished } from '../harness/pipeline.js';
import { rssSampler } from '../harness/processes.js';
import { mib, round } from '../harness/stats.js';
import type { BenchContext, Scenario } from '../harness/types.js';
import { benchEvent, freshRun, oneRuleRoutesFile, UNLIMITED, workerEnv } from '../harness/workload.js';

/**
 * Flags: --n (queued delivery jobs per vendor, default 100000), --path-n (orders through the whole path, default
 * 20000), --vendors (for the job-only figure, default all four).
 */

interface JobFootprint { vendor: BenchVendor; jobs: number; bytesPerJob: number; jsonBytes: number }

export const footprint: Scenario = {
  name: 'footprint',
  title: 'Footprint: Redis memory per queued delivery, worker memory under load',
  method:
    'Job alone: 100,000 delivery jobs of each vendor\'s example rule, rendered by the real fan-out plan (planFanout) '
    + 'from distinct orders and added to deliver-<vendor> with the real job id and options; Redis INFO used_memory '
    + 'before and after, divided by the count. Whole path: orders through producer → workers/fanout.ts with no delivery '
    + 'worker running (so every delivery stays queued), counting everything an order leaves in Redis (its order job, '
    + 'dedup and idempotency keys, the order record, the "queued" hand-back notification, the delivery job). Then '
    + 'workers/metabot.ts drains that backlog at an unlimited rate while its RSS is sampled every 200 ms.',
  async run(ctx) {
    const n = ctx.opts.n ?? 100_000;
    const pathN = Number(ctx.opts['path-n'] ?? 20_000);
    const vendors = String(ctx.opts.vendors ?? BENCH_VENDORS.join(',')).split(',') as BenchVendor[];
    const jobs: JobFootprint[] = [];
    for (const vendor of vendors) {
      jobs.push(await jobFootprint(ctx, vendor, n));
      ctx.log(`footprint ${vendor}: ${jobs.at(-1)!.bytesPerJob} bytes per queued delivery`);
    }
    const path = await pathFootprint(ctx, pathN);
    ctx.log(`footprint whole path: ${path.bytesPerOrder} bytes per order; metabot worker peak RSS ${path.workerPeakMiB} MiB`);
    return {
      scenario: 'footprint',
      figures: {
        jobs_per_vendor: n,
        ...Object.fromEntries(jobs.map((j) => [`${j.vendor}_bytes_per_queued_delivery`, j.bytesPerJob])),
        path_orders: pathN, path_bytes_per_order: path.bytesPerOrder,
        fanout_peak_rss_mib: path.fanoutPeakMiB, worker_peak_rss_mib: path.workerPeakMiB, worker_idle_rss_mib: path.workerIdleMiB,
      },
      goals: [{ goal: 'Redis bytes per queued delivery at a backlog of 100,000 (reported)', measured: jobs.map((j) => `${j.vendor} ${j.bytesPerJob}`).join(', '), met: null }],
      table: {
        head: ['what', 'count', 'Redis bytes each', 'job data JSON bytes', 'Redis MiB per 100,000'],
        rows: [
          ...jobs.map((j) => [`${j.vendor} delivery job (example rule)`, j.jobs, j.bytesPerJob, j.jsonBytes, mib(j.bytesPerJob * 100_000)]),
          ['whole path, per order (metabot rule, delivery still queued)', pathN, path.bytesPerOrder, '', mib(path.bytesPerOrder * 100_000)],
        ],
      },
      notes: [
        `Worker memory: workers/fanout.ts peaked at ${path.fanoutPeakMiB} MiB RSS while fanning out ${pathN} orders; workers/metabot.ts at ${path.workerIdleMiB} MiB idle and ${path.workerPeakMiB} MiB peak while draining the ${pathN}-delivery backlog (DELIVERY_CONCURRENCY=100, ${path.drainPerSec} deliveries/s).`,
        'Completed jobs are kept (KEEP_COMPLETED_JOBS, default 1 day, at most 100,000 per queue) and per-order records for ORDER_RETENTION (30 days): size Redis for those, not for the backlog alone.',
      ],
      runs: [...jobs, path],
    };
  },
};

async function jobFootprint(ctx: BenchContext, vendor: BenchVendor, n: number): Promise<JobFootprint> {
  await ctx.redis.flush();
  const prefix = freshRun('m');
  const config = loadConfig(workerEnv(ctx.redis.url, prefix, ctx.sandbox));
  const routes = loadRoutesFile(oneRuleRoutesFile(vendor));
  const queue = new Queue(deliveryQueueName(vendor), { connection: ctx.redis.client, prefix, defaultJobOptions: deliveryJobOptions(config) });
  await queue.waitUntilReady();
  await queue.add('warm-up', {}); // scripts and queue meta keys exist before the first reading
  await queue.obliterate({ force: true });
  const before = await ctx.redis.usedMemory();
  let jsonBytes = 0;
  const now = new Date();
  for (let i = 0; i < n; i += 1_000) {
    const batch = [];
    for (let k = i; k < Math.min(n, i + 1_000); k++) {
      const plan = planFanout(benchEvent(prefix, k), routes, new Set([vendor]), now)[0]!;
      if (plan.kind !== 'deliver') throw new Error(`${vendor} example rule did not render: ${plan.kind === 'rejected' ? plan.reason : plan.kind}`);
      if (k === 0) jsonBytes = Buffer.byteLength(JSON.stringify(plan.job));
      batch.push({ name: JOB_NAMES.delivery, data: plan.job, opts: { jobId: plan.job.deliveryId } });
    }
    await queue.addBulk(batch);
  }
  const after = await ctx.redis.usedMemory();
  await queue.close();
  return { vendor, jobs: n, bytesPerJob: Math.round((after - before) / n), jsonBytes };
}

async function pathFootprint(ctx: BenchContext, n: number) {
  await ctx.redis.flush();
  await ctx.sandbox.reset();
  const run = freshRun('w');
  const p = await startOurPipeline(ctx, { vendor: 'metabot', prefix: run, vendorProcesses: 0, env: { METABOT_RATE_LIMIT: UNLIMITED } });
  try {
    const before = await ctx.redis.usedMemory();
    const fanoutRss = rssSampler(p.children());
    await enqueueEvents(p.producer, Array.from({ length: n }, (_, i) => benchEvent(run, i)));
    await waitFinished(p.orders, n);
    const fanoutPeak = Math.max(...fanoutRss.stop().values());
    const after = await ctx.redis.usedMemory();
    const [worker] = await addVendorProcesses(ctx, p, 'metabot', 1, { METABOT_RATE_LIMIT: UNLIMITED });
    const idle = worker!.rssBytes() ?? 0;
    const rss = rssSampler([worker!]);
    const t0 = Date.now();
    const done = await waitFinished(p.deliveries, n);
    const peak = Math.max(...rss.stop().values());
    if (done.failed) throw new Error(`${done.failed} deliveries failed (logs in ${ctx.logDir})`);
    return {
      orders: n, bytesPerOrder: Math.round((after - before) / n), fanoutPeakMiB: mib(fanoutPeak),
      workerIdleMiB: mib(idle), workerPeakMiB: mib(peak), drainPerSec: round(n / ((done.at - t0) / 1000), 0),
    };
  } finally {
    await p.stop();
  }
}
