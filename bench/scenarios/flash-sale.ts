import { addVendorProcesses, enqueueEvents, startOurPipeline, waitFinished } from '../harness/pipeline.js';
import { sleep } from '../harness/processes.js';
import { round } from '../harness/stats.js';
import type { BenchContext, Scenario } from '../harness/types.js';
import { benchEvent, freshRun } from '../harness/workload.js';
import { checkDelivered } from './verify.js';

/** Flags: --n (queued deliveries, default 5000), --limit (requests/s, default 5), --one-seconds (default 20). */

interface FlashFigures {
  batchMax: number;
  delivered: number;
  seconds: number;
  deliveriesPerSec: number;
  requests: number;
  recipientsPerRequest: number;
  maxRequestsIn1s: number;
  rejected429: number;
}

export const flashSale: Scenario = {
  name: 'flash-sale',
  title: 'Flash sale: Twin24 batching at the vendor limit',
  method:
    'A backlog of N Twin24 deliveries (default 5,000; the example rule whatsapp-confirmation, one template for every '
    + 'order) is built through producer → fan-out while no Twin24 worker runs. Then one workers/twin24.ts process starts '
    + 'with TWIN24_RATE_LIMIT=5/1s and the default TWIN24_BATCH_MAX=100, and drains it; the sandbox enforces the same '
    + '5 requests/s (an excess request would be answered 429 and counted). The clock runs from the worker being ready '
    + 'to the last delivery completed. The same run then repeats with TWIN24_BATCH_MAX=1 (one recipient per request, '
    + 'what a non-batching sender gets) on a new backlog of the same size, for a fixed time window (default 20 s), '
    + 'since draining it would take N/5 seconds. The static token is used so every request the sandbox counts is a send.',
  async run(ctx) {
    const n = ctx.opts.n ?? 5_000;
    const limit = Number(ctx.opts.limit ?? 5);
    const windowS = Number(ctx.opts['one-seconds'] ?? 20);
    const batched = await drain(ctx, n, limit, 100);
    ctx.log(`flash-sale batched: ${batched.deliveriesPerSec} deliveries/s, ${batched.recipientsPerRequest} per request, max ${batched.maxRequestsIn1s} in 1 s`);
    const single = await drain(ctx, n, limit, 1, windowS * 1000);
    ctx.log(`flash-sale one per request: ${single.deliveriesPerSec} deliveries/s`);
    const overLimit = Math.max(0, batched.maxRequestsIn1s - limit) + batched.rejected429;
    return {
      scenario: 'flash-sale',
      figures: {
        n, limit_per_s: limit,
        recipients_per_request: batched.recipientsPerRequest, deliveries_per_s: batched.deliveriesPerSec,
        one_per_request_deliveries_per_s: single.deliveriesPerSec, speedup: round(batched.deliveriesPerSec / single.deliveriesPerSec, 1),
        max_requests_in_1s: batched.maxRequestsIn1s, requests_over_limit: overLimit,
      },
      goals: [
        { goal: '≥ 50 deliveries per request at backlog', measured: `${batched.recipientsPerRequest}`, met: batched.recipientsPerRequest >= 50 },
        { goal: `0 requests over the limit (${limit}/s)`, measured: `max ${batched.maxRequestsIn1s} in any 1 s, ${batched.rejected429} answered 429`, met: overLimit === 0 },
      ],
      table: {
        head: ['TWIN24_BATCH_MAX', 'deliveries', 'seconds', 'deliveries/s', 'vendor requests', 'recipients/request', 'max requests in any 1 s', '429s'],
        rows: [batched, single].map((f) => [f.batchMax, f.delivered, f.seconds, f.deliveriesPerSec, f.requests, f.recipientsPerRequest, f.maxRequestsIn1s, f.rejected429]),
      },
      notes: [
        `Batching turns the vendor's ${limit} requests/s into ${batched.deliveriesPerSec} deliveries/s: ${round(batched.deliveriesPerSec / single.deliveriesPerSec, 1)}× the one-per-request rate in the same run.`,
        `The limiter spaces requests (1000 ms + 50 ms guard) / ${limit}, so the ceiling is ${round((limit * 1000) / 1050, 2)} requests/s; see rate-limit below for the guard.`,
      ],
      runs: [batched, single],
    };
  },
};

/** Builds a backlog of n Twin24 deliveries, then one worker drains it (or works for `forMs`). */
async function drain(ctx: BenchContext, n: number, limit: number, batchMax: number, forMs?: number): Promise<FlashFigures> {
  await ctx.redis.flush();
  await ctx.sandbox.reset();
  await ctx.sandbox.setFaults('twin24', { rateLimit: { max: limit, durationMs: 1_000 } });
  const run = freshRun('f');
  const env = {
    TWIN24_RATE_LIMIT: `${limit}/1s`, TWIN24_BATCH_MAX: String(batchMax),
    TWIN24_TOKEN: ctx.sandbox.credentials.twin24.staticToken, TWIN24_EMAIL: '', TWIN24_PASSWORD: '',
  };
  const p = await startOurPipeline(ctx, { vendor: 'twin24', prefix: run, vendorProcesses: 0, env });
  try {
    await enqueueEvents(p.producer, Array.from({ length: n }, (_, i) => benchEvent(run, i)));
    await waitFinished(p.orders, n);
    await addVendorProcesses(ctx, p, 'twin24', 1, env);
    const t0 = Date.now();
    let delivered = n;
    let end: number;
    if (forMs === undefined) {
      const done = await waitFinished(p.deliveries, n);
      if (done.failed) throw new Error(`${done.failed} Twin24 deliveries failed (logs in ${ctx.logDir})`);
      end = done.at;
    } else {
      await sleep(forMs);
      end = Date.now();
      delivered = (await p.deliveries.getJobCounts('completed')).completed ?? 0;
    }
    const requests = (await ctx.sandbox.requests('twin24')).filter((r) => r.path === '/messages');
    if (forMs === undefined) await checkDelivered(ctx.sandbox, 'twin24', n);
    const accepted = requests.filter((r) => r.status === 200).length;
    const seconds = (end - t0) / 1000;
    return {
      batchMax, delivered, seconds: round(seconds, 1), deliveriesPerSec: round(delivered / seconds, 1), requests: accepted,
      recipientsPerRequest: round(delivered / Math.max(1, accepted), 1),
      maxRequestsIn1s: await ctx.sandbox.maxInWindow('twin24', 1_000, '/messages'),
      rejected429: requests.filter((r) => r.status === 429).length,
    };
  } finally {
    await p.stop();
    await ctx.sandbox.setFaults('twin24', {});
  }
}
