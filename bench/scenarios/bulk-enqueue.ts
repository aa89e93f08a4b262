import { createProducer } from '../../src/producer/producer.js';
import { startBare } from '../baseline/bare.js';
import { enqueueEvents } from '../harness/pipeline.js';
import { redisWorkMeter, type RedisWork } from '../harness/redis-work.js';
import { round } from '../harness/stats.js';
import type { BenchContext } from '../harness/types.js';
import { benchEvent, freshRun } from '../harness/workload.js';

export interface BulkFigures {
  n: number;
  /** orderPaidBulk in chunks of 1,000, no worker running. */
  eventsPerSec: number;
  /** The bare queue.addBulk of the same events, same chunks. */
  bareJobsPerSec: number;
  redisMsPerEvent: number;
  bareRedisMsPerEvent: number;
  /** CPU of the enqueuing process (the bench process here, the monolith in production) per event. */
  clientCpuMsPerEvent: number;
  bareClientCpuMsPerEvent: number;
  /** Commands per event (client-sent and script-internal alike, as commandstats counts them). */
  commandsPerEvent: Record<string, number>;
  bareCommandsPerEvent: Record<string, number>;
}

const perEvent = (w: RedisWork, n: number) => Object.fromEntries(Object.entries(w.commands).map(([k, c]) => [k, round(c.calls / n, 2)]));

/** One round: n fresh events through orderPaidBulk, then through the bare addBulk, nothing consuming. */
export async function bulkEnqueue(ctx: BenchContext, n: number): Promise<BulkFigures> {
  await ctx.redis.flush();
  const run = freshRun('k');
  const producer = createProducer({ redisUrl: ctx.redis.url, prefix: run });
  const bare = await startBare(ctx, 'metabot', `${run}bare`, 1);
  await bare.worker.stop(); // only its queue is used here
  try {
    const events = Array.from({ length: n }, (_, i) => benchEvent(run, i));
    await producer.orderPaidBulk(events.slice(0, 10).map((e) => ({ ...e, orderId: `${e.orderId}w` }))); // connection + scripts warm
    let meter = redisWorkMeter(ctx.redis);
    await meter.ready;
    const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
    let cpu = process.cpuUsage();
    let t = performance.now();
    await enqueueEvents(producer, events);
    const eventsPerSec = Math.round(n / ((performance.now() - t) / 1000));
    const clientCpuMsPerEvent = round(cpuMs(process.cpuUsage(cpu)) / n, 3);
    const ours = await meter.stop();
    await bare.enqueue(events.slice(0, 10).map((e) => ({ ...e, orderId: `${e.orderId}bw` })));
    meter = redisWorkMeter(ctx.redis);
    await meter.ready;
    const renamed = events.map((e) => ({ ...e, orderId: `${e.orderId}b` }));
    cpu = process.cpuUsage();
    t = performance.now();
    await bare.enqueue(renamed);
    const bareJobsPerSec = Math.round(n / ((performance.now() - t) / 1000));
    const bareClientCpuMsPerEvent = round(cpuMs(process.cpuUsage(cpu)) / n, 3);
    const bareWork = await meter.stop();
    return {
      n, eventsPerSec, bareJobsPerSec, clientCpuMsPerEvent, bareClientCpuMsPerEvent,
      redisMsPerEvent: round(ours.cpuMs / n, 3), bareRedisMsPerEvent: round(bareWork.cpuMs / n, 3),
      commandsPerEvent: perEvent(ours, n), bareCommandsPerEvent: perEvent(bareWork, n),
    };
  } finally {
    await producer.close();
    await bare.queue.close();
  }
}
