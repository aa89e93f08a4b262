import { createProducer } from '../../src/producer/producer.js';
import { parseOrderPaidBatch } from '../../src/producer/validate.js';
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
  /** What the bare addBulk would do if it validated like ours first: n / (its time + our validation's time). */
  bareWithValidationPerSec: number;
  /** CPU of validating one event (parseOrderPaidBatch in chunks of 1,000, timed on its own). */
  validationCpuMsPerEvent: number;
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

/**
 * One round: n fresh events through orderPaidBulk and the same events (renamed) through the bare addBulk, nothing
 * consuming. Odd rounds run ours first, even rounds bare first, so a load change on a shared machine hits both.
 */
export async function bulkEnqueue(ctx: BenchContext, n: number, roundNo = 1): Promise<BulkFigures> {
  await ctx.redis.flush();
  const run = freshRun('k');
  const producer = createProducer({ redisUrl: ctx.redis.url, prefix: run });
  const bare = await startBare(ctx, 'metabot', `${run}bare`, 1);
  await bare.worker.stop(); // only its queue is used here
  const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
  const timed = async (work: () => Promise<void>) => {
    const meter = redisWorkMeter(ctx.redis);
    await meter.ready;
    const cpu = process.cpuUsage();
    const t = performance.now();
    await work();
    const seconds = (performance.now() - t) / 1000;
    return { seconds, perSec: Math.round(n / seconds), cpuMsPerEvent: round(cpuMs(process.cpuUsage(cpu)) / n, 4), work: await meter.stop() };
  };
  try {
    const events = Array.from({ length: n }, (_, i) => benchEvent(run, i));
    await producer.orderPaidBulk(events.slice(0, 10).map((e) => ({ ...e, orderId: `${e.orderId}w` }))); // connection + scripts warm
    await bare.enqueue(events.slice(0, 10).map((e) => ({ ...e, orderId: `${e.orderId}bw` })));
    const renamed = events.map((e) => ({ ...e, orderId: `${e.orderId}b` }));
    const runOurs = () => timed(() => enqueueEvents(producer, events));
    const runBare = () => timed(() => bare.enqueue(renamed));
    let ours, bareRun;
    if (roundNo % 2 === 1) {
      ours = await runOurs();
      bareRun = await runBare();
    } else {
      bareRun = await runBare();
      ours = await runOurs();
    }
    const validation = await timed(async () => { for (let i = 0; i < n; i += 1_000) parseOrderPaidBatch(events.slice(i, i + 1_000)); });
    return {
      n, eventsPerSec: ours.perSec, bareJobsPerSec: bareRun.perSec,
      bareWithValidationPerSec: Math.round(n / (bareRun.seconds + validation.seconds)), validationCpuMsPerEvent: validation.cpuMsPerEvent,
      clientCpuMsPerEvent: ours.cpuMsPerEvent, bareClientCpuMsPerEvent: bareRun.cpuMsPerEvent,
      redisMsPerEvent: round(ours.work.cpuMs / n, 3), bareRedisMsPerEvent: round(bareRun.work.cpuMs / n, 3),
      commandsPerEvent: perEvent(ours.work, n), bareCommandsPerEvent: perEvent(bareRun.work, n),
    };
  } finally {
    await producer.close();
    await bare.queue.close();
  }
}
