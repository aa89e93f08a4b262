import { createProducer } from '../../src/producer/producer.js';
import type { RecordedRequest } from '../../src/sandbox/index.js';
import { startBare } from '../baseline/bare.js';
import { enqueueEvents, startOurPipeline, waitFinished } from '../harness/pipeline.js';
import { sleep } from '../harness/processes.js';
import { percentile, round } from '../harness/stats.js';
import type { BenchContext, Scenario } from '../harness/types.js';
import { benchEvent, freshRun, UNLIMITED } from '../harness/workload.js';
import type { OrderPaid } from '../../src/events/order-paid.js';

/**
 * Flags: --rate (events/s, default 200), --seconds (steady load, default 15), --warmup (s excluded, default 2),
 * --n (events for the producer-alone figures, default 20000).
 */

interface LoadFigures {
  label: string;
  events: number;
  e2eP50: number;
  e2eP99: number;
  e2eMax: number;
  callP50: number;
  callP99: number;
  /** How far the load generator fell behind its schedule (p99, ms): a sanity check of the offered rate. */
  lagP99: number;
}

export const latency: Scenario = {
  name: 'latency',
  title: 'Latency at 200 events/s, and the producer alone',
  method:
    'Open-loop load: one order.paid every 5 ms (200/s) for 15 s into a running pipeline (workers/fanout.ts + one vendor '
    + 'process, rate limit 1,000,000/s so nothing queues behind it), each sent with producer.orderPaid() without waiting '
    + 'for the previous one. End-to-end latency = the sandbox\'s arrival time of that order\'s request − the time '
    + 'orderPaid() was called (same clock, 1 ms resolution); the first 2 s are warm-up and left out. The baseline is '
    + 'queue.add() of the event into the bare worker\'s queue (one hop) at the same rate. Then, with no worker running: '
    + 'orderPaid() called one at a time (p50/p99 of the call alone) and orderPaidBulk() in chunks of 1,000 (events/s), '
    + 'next to the bare queue.add / addBulk.',
  async run(ctx) {
    const rate = Number(ctx.opts.rate ?? 200);
    const seconds = Number(ctx.opts.seconds ?? 15);
    const warmup = Number(ctx.opts.warmup ?? 2);
    const loads = [
      await ourLoad(ctx, 'metabot', rate, seconds, warmup),
      await bareLoad(ctx, rate, seconds, warmup),
      await ourLoad(ctx, 'twin24', rate, seconds, warmup),
    ];
    const alone = await producerAlone(ctx, ctx.opts.n ?? 20_000);
    for (const l of loads) ctx.log(`latency ${l.label}: e2e p50 ${l.e2eP50} ms, p99 ${l.e2eP99} ms; call p50 ${l.callP50} ms, p99 ${l.callP99} ms`);
    const [metabot, bare, twin24] = loads as [LoadFigures, LoadFigures, LoadFigures];
    return {
      scenario: 'latency',
      figures: {
        rate_per_s: rate,
        e2e_p50_ms: metabot.e2eP50, e2e_p99_ms: metabot.e2eP99, bare_e2e_p50_ms: bare.e2eP50, bare_e2e_p99_ms: bare.e2eP99,
        twin24_e2e_p50_ms: twin24.e2eP50, twin24_e2e_p99_ms: twin24.e2eP99,
        order_paid_p50_ms: alone.callP50, order_paid_p99_ms: alone.callP99, bulk_events_per_s: alone.bulkPerSec,
        bare_add_p50_ms: alone.bareCallP50, bare_add_p99_ms: alone.bareCallP99, bare_bulk_jobs_per_s: alone.bareBulkPerSec,
      },
      goals: [
        { goal: 'p50 / p99 orderPaid() → vendor at 200 events/s (reported, no fixed goal)', measured: `${metabot.e2eP50} / ${metabot.e2eP99} ms (bare one hop: ${bare.e2eP50} / ${bare.e2eP99} ms)`, met: null },
      ],
      table: {
        head: ['path', 'events measured', 'e2e p50 ms', 'e2e p99 ms', 'e2e max ms', 'enqueue call p50 ms', 'enqueue call p99 ms', 'load lag p99 ms'],
        rows: [
          ...loads.map((l) => [l.label, l.events, l.e2eP50, l.e2eP99, l.e2eMax, l.callP50, l.callP99, l.lagP99]),
          ['producer alone: orderPaid() one at a time', alone.calls, '', '', '', alone.callP50, alone.callP99, ''],
          ['bare alone: queue.add() one at a time', alone.calls, '', '', '', alone.bareCallP50, alone.bareCallP99, ''],
        ],
      },
      notes: [
        `Bulk enqueue, no worker running: orderPaidBulk ${alone.bulkPerSec} events/s vs bare queue.addBulk ${alone.bareBulkPerSec} jobs/s (${alone.bulkN} events, chunks of 1,000). orderPaidBulk validates every event, checks the idempotency keys (MGET) and writes them after the add.`,
        'Twin24 waits up to TWIN24_BATCH_LINGER_MS (50 ms) for companions before a lone message goes out; that linger is in its figures by design.',
      ],
      runs: [...loads, alone],
    };
  },
};

/** Fires one call every 1000/rate ms on a fixed schedule (open loop); returns call start times and durations. */
async function openLoop(events: OrderPaid[], rate: number, call: (e: OrderPaid) => Promise<unknown>) {
  const every = 1000 / rate;
  const startedAt: number[] = [];
  const durations: number[] = [];
  const lag: number[] = [];
  const pending: Array<Promise<unknown>> = [];
  const t0 = performance.now() + 50;
  for (let i = 0; i < events.length; i++) {
    const due = t0 + i * every;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    lag.push(Math.max(0, performance.now() - due));
    startedAt[i] = Date.now();
    const s = performance.now();
    pending.push(call(events[i]!).then(() => { durations[i] = performance.now() - s; }));
  }
  await Promise.all(pending);
  return { startedAt, durations, lag };
}

function figures(label: string, arrivals: Map<string, number>, events: OrderPaid[], run: Awaited<ReturnType<typeof openLoop>>, skip: number): LoadFigures {
  const e2e: number[] = [];
  for (let i = skip; i < events.length; i++) {
    const at = arrivals.get(events[i]!.orderId);
    if (at === undefined) throw new Error(`${label}: no vendor request for ${events[i]!.orderId}`);
    e2e.push(at - run.startedAt[i]!);
  }
  const calls = run.durations.slice(skip);
  return {
    label, events: e2e.length,
    e2eP50: percentile(e2e, 50), e2eP99: percentile(e2e, 99), e2eMax: Math.max(...e2e),
    callP50: round(percentile(calls, 50), 2), callP99: round(percentile(calls, 99), 2), lagP99: round(percentile(run.lag, 99), 1),
  };
}

/** Order id → arrival time of its request at the sandbox. */
function arrivalsByOrder(requests: RecordedRequest[], vendor: 'metabot' | 'twin24'): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of requests) {
    if (r.status !== 200) continue;
    const body = r.body as any;
    if (vendor === 'metabot') out.set(String(body.script_request_params.order_id), r.at);
    else for (const m of body.messages) for (const d of m.destinations) out.set(d.variables.order, r.at);
  }
  return out;
}

async function ourLoad(ctx: BenchContext, vendor: 'metabot' | 'twin24', rate: number, seconds: number, warmup: number): Promise<LoadFigures> {
  await ctx.redis.flush();
  await ctx.sandbox.reset();
  const run = freshRun('l');
  const p = await startOurPipeline(ctx, { vendor, prefix: run, env: { [`${vendor.toUpperCase()}_RATE_LIMIT`]: UNLIMITED } });
  try {
    const events = Array.from({ length: rate * seconds }, (_, i) => benchEvent(run, i));
    const load = await openLoop(events, rate, (e) => p.producer.orderPaid(e));
    const done = await waitFinished(p.deliveries, events.length);
    if (done.failed) throw new Error(`${done.failed} deliveries failed (logs in ${ctx.logDir})`);
    const requests = (await ctx.sandbox.requests(vendor)).filter((r) => r.method === 'POST' && !r.path.startsWith('/auth'));
    return figures(`order-notify ${vendor}: orderPaid → fan-out → ${vendor} worker → sandbox`, arrivalsByOrder(requests, vendor), events, load, rate * warmup);
  } finally {
    await p.stop();
  }
}

async function bareLoad(ctx: BenchContext, rate: number, seconds: number, warmup: number): Promise<LoadFigures> {
  await ctx.redis.flush();
  await ctx.sandbox.reset();
  const run = freshRun('lb');
  const bare = await startBare(ctx, 'metabot', run);
  try {
    const events = Array.from({ length: rate * seconds }, (_, i) => benchEvent(run, i));
    const load = await openLoop(events, rate, (e) => bare.queue.add('order.paid', e));
    await waitFinished(bare.queue, events.length);
    const requests = await ctx.sandbox.requests('metabot');
    return figures('bare metabot: queue.add → bare worker → sandbox', arrivalsByOrder(requests, 'metabot'), events, load, rate * warmup);
  } finally {
    await bare.stop();
  }
}

/** The producer with nothing consuming: single calls one at a time, and bulk; the bare Queue the same way. */
async function producerAlone(ctx: BenchContext, n: number) {
  await ctx.redis.flush();
  const run = freshRun('p');
  const producer = createProducer({ redisUrl: ctx.redis.url, prefix: run });
  const bare = await startBare(ctx, 'metabot', `${run}bare`, 1);
  await bare.worker.stop(); // only its queue is used here
  try {
    const calls = 2_000;
    const single = Array.from({ length: calls }, (_, i) => benchEvent(run, i));
    const one = async (fn: (e: OrderPaid) => Promise<unknown>) => {
      const times: number[] = [];
      for (const e of single) {
        const s = performance.now();
        await fn(e);
        times.push(performance.now() - s);
      }
      return times.slice(200); // warm-up left out
    };
    const ours = await one((e) => producer.orderPaid(e));
    const bareTimes = await one((e) => bare.queue.add('order.paid', e));
    const bulk = Array.from({ length: n }, (_, i) => benchEvent(`${run}k`, i));
    let t = performance.now();
    await enqueueEvents(producer, bulk);
    const bulkPerSec = Math.round(n / ((performance.now() - t) / 1000));
    t = performance.now();
    await bare.enqueue(bulk.map((e) => ({ ...e, orderId: `${e.orderId}b` })));
    const bareBulkPerSec = Math.round(n / ((performance.now() - t) / 1000));
    return {
      calls: ours.length,
      callP50: round(percentile(ours, 50), 2), callP99: round(percentile(ours, 99), 2),
      bareCallP50: round(percentile(bareTimes, 50), 2), bareCallP99: round(percentile(bareTimes, 99), 2),
      bulkN: n, bulkPerSec, bareBulkPerSec,
    };
  } finally {
    await producer.close();
    await bare.queue.close();
  }
}
