import type { Queue } from 'bullmq';
import type { BenchVendor } from '../harness/workload.js';
import { startBare } from '../baseline/bare.js';
import { cpuMeter, enqueueEvents, sharedProcesses, startOurPipeline, waitFinished } from '../harness/pipeline.js';
import { rssSampler, type NodeChild } from '../harness/processes.js';
import { monitorCalls, redisWorkMeter } from '../harness/redis-work.js';
import { mib, round } from '../harness/stats.js';
import type { BenchContext } from '../harness/types.js';
import { benchEvent, exampleRulesFile, FOUR_RULES, FOUR_RULES_DELIVERIES, freshRun, UNLIMITED } from '../harness/workload.js';
import { checkDelivered } from './verify.js';

/** metabot / twin24: one example rule (1 delivery per order); four-rules: LINE + Facebook + Messenger + WhatsApp. */
export type Workload = 'metabot' | 'twin24' | 'four-rules';
export type Side = 'ours' | 'bare';

export const WORKLOADS: Workload[] = ['metabot', 'twin24', 'four-rules'];

/** Vendor queues a workload fills and how many deliveries per order each gets. */
export function deliveriesOf(w: Workload): Array<[BenchVendor, number]> {
  return w === 'four-rules' ? (Object.entries(FOUR_RULES_DELIVERIES) as Array<[BenchVendor, number]>) : [[w, 1]];
}
export const perOrder = (w: Workload) => deliveriesOf(w).reduce((a, [, k]) => a + k, 0);

export interface RunFigures {
  side: Side;
  workload: Workload;
  round: number;
  /** Orders (events). */
  n: number;
  deliveries: number;
  seconds: number;
  deliveriesPerSec: number;
  /** ours: when the fan-out had turned every event into its deliveries. */
  fannedOutPerSec?: number;
  requests: number;
  recipientsPerRequest: number;
  /** CPU of this side's own worker processes, per delivery. */
  cpuMsPerDelivery: number;
  cpuByProcess: Record<string, number>;
  /** Redis CPU per delivery from /proc (whole process) and from INFO cpu (main thread: the one running commands). */
  redisCpuMsPerDelivery: number;
  redisMainThreadMsPerDelivery?: number;
  /** INFO commandstats difference over the run, per delivery: calls and µs by command. */
  redisCommands: Record<string, { calls: number; usec: number }>;
  sandboxCpuMsPerDelivery: number;
  peakRssMiB: number;
}

interface Started {
  workers: NodeChild[];
  enqueue(): Promise<void>;
  finished(): Promise<{ at: number; fannedOutAt?: number; failed: number }>;
  stop(): Promise<void>;
}

async function startSide(ctx: BenchContext, side: Side, w: Workload, run: string, n: number): Promise<Started> {
  const events = Array.from({ length: n }, (_, i) => benchEvent(run, i));
  if (side === 'ours') {
    const queues = deliveriesOf(w);
    const vendors = queues.map(([v]) => v);
    const env = Object.fromEntries(vendors.map((v) => [`${v.toUpperCase()}_RATE_LIMIT`, UNLIMITED]));
    const routesFile = w === 'four-rules' ? exampleRulesFile(FOUR_RULES, 'routes-four-rules.json') : undefined;
    const p = await startOurPipeline(ctx, { vendor: vendors[0]!, vendors, routesFile, prefix: run, env });
    return {
      workers: p.children(),
      enqueue: () => enqueueEvents(p.producer, events),
      async finished() {
        const fannedOut = await waitFinished(p.orders, n);
        let at = fannedOut.at;
        let failed = fannedOut.failed;
        for (const [vendor, k] of queues) {
          const done = await waitFinished(p.deliveryQueues.get(vendor) as Queue, n * k);
          at = Math.max(at, done.at);
          failed += done.failed;
        }
        return { at, fannedOutAt: fannedOut.at, failed };
      },
      stop: () => p.stop(),
    };
  }
  const bare = await startBare(ctx, w === 'four-rules' ? 'mixed' : w, run);
  return {
    workers: [bare.worker],
    enqueue: () => bare.enqueue(events),
    finished: () => waitFinished(bare.queue, n * bare.perEvent),
    stop: () => bare.stop(),
  };
}

/** Every recipient accepted exactly once, per vendor queue the workload fills; returns the send requests. */
async function checkAll(ctx: BenchContext, w: Workload, n: number): Promise<number> {
  let requests = 0;
  for (const [vendor, k] of deliveriesOf(w)) requests += (await checkDelivered(ctx.sandbox, vendor, n * k)).requests;
  return requests;
}

/** One timed run of one side on a flushed Redis and a reset sandbox. */
export async function runOnce(ctx: BenchContext, side: Side, w: Workload, n: number, round_: number): Promise<RunFigures> {
  await ctx.redis.flush();
  await ctx.sandbox.reset();
  const run = freshRun(side === 'ours' ? 't' : 'b');
  const s = await startSide(ctx, side, w, run, n);
  const deliveries = n * perOrder(w);
  try {
    const cpu = cpuMeter(s.workers);
    const shared = cpuMeter(sharedProcesses(ctx));
    const redisWork = redisWorkMeter(ctx.redis);
    await redisWork.ready;
    const rss = rssSampler(s.workers);
    const t0 = Date.now();
    await s.enqueue();
    const done = await s.finished();
    const used = cpu.stop();
    const sharedUsed = shared.stop();
    const work = await redisWork.stop();
    const peak = Math.max(...rss.stop().values());
    if (done.failed) throw new Error(`${side} ${w}: ${done.failed} jobs failed (logs in ${ctx.logDir})`);
    const requests = await checkAll(ctx, w, n);
    const seconds = (done.at - t0) / 1000;
    const perDelivery = (ms: number) => round(ms / deliveries, 3);
    return {
      side, workload: w, round: round_, n, deliveries, seconds: round(seconds, 2), deliveriesPerSec: Math.round(deliveries / seconds),
      fannedOutPerSec: done.fannedOutAt ? Math.round(n / ((done.fannedOutAt - t0) / 1000)) : undefined,
      requests, recipientsPerRequest: round(deliveries / requests, 1),
      cpuMsPerDelivery: perDelivery([...used.values()].reduce((a, b) => a + b, 0)),
      cpuByProcess: Object.fromEntries([...used].map(([name, ms]) => [name.slice(run.length + 1), round(ms / deliveries, 3)])),
      redisCpuMsPerDelivery: perDelivery(sharedUsed.get('redis') ?? 0),
      redisMainThreadMsPerDelivery: work.mainThreadCpuMs === undefined ? undefined : perDelivery(work.mainThreadCpuMs),
      redisCommands: Object.fromEntries(Object.entries(work.commands).map(([k, c]) => [k, { calls: round(c.calls / deliveries, 3), usec: round(c.usec / deliveries, 2) }])),
      sandboxCpuMsPerDelivery: perDelivery(sharedUsed.get('sandbox') ?? 0),
      peakRssMiB: mib(peak),
    };
  } finally {
    await s.stop();
  }
}

/**
 * A small untimed run with MONITOR on: calls per delivery by script name (BullMQ's by name, ours by key shape) and
 * by plain command, split into calls a client sent and commands a script ran inside Redis.
 */
export async function attributeCalls(ctx: BenchContext, side: Side, w: Workload, n: number): Promise<{ client: Record<string, number>; inScripts: Record<string, number> }> {
  await ctx.redis.flush();
  await ctx.sandbox.reset();
  const run = freshRun(side === 'ours' ? 'm' : 'a');
  const s = await startSide(ctx, side, w, run, n);
  const deliveries = n * perOrder(w);
  try {
    const counts = await monitorCalls(ctx.redis.url, run, async () => {
      await s.enqueue();
      const done = await s.finished();
      if (done.failed) throw new Error(`${side} ${w} (attribution): ${done.failed} jobs failed (logs in ${ctx.logDir})`);
    });
    const split = (lua: boolean) => Object.fromEntries([...counts]
      .filter(([k]) => k.startsWith('lua ') === lua)
      .map(([k, c]) => [lua ? k.slice(4) : k, round(c / deliveries, 3)] as const)
      .sort((a, b) => b[1] - a[1]));
    return { client: split(false), inScripts: split(true) };
  } finally {
    await s.stop();
  }
}
