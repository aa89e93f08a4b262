/**
 * Where the bulk enqueue's time goes, side by side in one process on one Redis, rounds interleaved (each round starts
 * with the next side) so a shared machine's load hits every side alike; medians printed per side:
 * - orderPaidBulk (ours, chunks of 1,000), validation alone (parseOrderPaidBatch),
 * - the bare queue.addBulk of the same events, bare + a custom job id, bare + job id + BullMQ deduplication (what
 *   the producer asked BullMQ for before it used each order's own job id), each with the orders queue's job options.
 * Events/s, CPU of this process per event, Redis CPU per event (INFO cpu).
 *
 *   npx tsx bench/tools/bulk-compare.ts [rounds=8] [events=20000]
 */
import { Queue } from 'bullmq';
import { createProducer } from '../../src/producer/producer.js';
import { parseOrderPaidBatch } from '../../src/producer/validate.js';
import { orderDedupId, proposeOrderJobId } from '../../src/queues/job-ids.js';
import { orderJobOptions } from '../../src/queues/options.js';
import { startBenchRedis } from '../harness/redis.js';
import { redisWorkMeter } from '../harness/redis-work.js';
import { median } from '../harness/stats.js';
import { benchEvent } from '../harness/workload.js';

const rounds = Number(process.argv[2] ?? 8);
const n = Number(process.argv[3] ?? 20_000);
const WINDOW_MS = 7 * 86_400_000;
const redis = await startBenchRedis();
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const figures: Record<string, Array<{ perSec: number; cpuUs: number; redisUs: number }>> = {};
try {
  for (let r = 0; r < rounds; r++) {
    await redis.flush();
    const producer = createProducer({ redisUrl: redis.url, prefix: `cmp${r}`, timeoutMs: 30_000 }); // a loaded machine can stall Redis' AOF for seconds
    const queue = new Queue('bare', {
      connection: redis.client, prefix: `cmp${r}b`, defaultJobOptions: orderJobOptions({ jobs: { keepCompletedMs: 86_400_000, keepFailedMs: 14 * 86_400_000 } }),
    });
    const bare = (opts: (orderId: string) => object | undefined) => (events: Array<{ orderId: string }>) =>
      queue.addBulk(events.map((e) => ({ name: 'order.paid', data: e, opts: opts(e.orderId) })));
    const sides: Record<string, (events: Array<{ orderId: string }>) => Promise<unknown>> = {
      orderPaidBulk: (events) => producer.orderPaidBulk(events),
      validation: async (events) => parseOrderPaidBatch(events),
      bare: bare(() => undefined),
      'bare+jobId': bare((id) => ({ jobId: proposeOrderJobId(id) })),
      'bare+jobId+dedup': bare((id) => ({ jobId: proposeOrderJobId(id), deduplication: { id: orderDedupId(id), ttl: WINDOW_MS } })),
    };
    const names = Object.keys(sides);
    for (const f of Object.values(sides)) await f([benchEvent(`w${r}`, 1), benchEvent(`w${r}`, 2)]); // connections + scripts warm
    for (let k = 0; k < r % names.length; k++) names.push(names.shift()!);
    for (const name of names) {
      const events = Array.from({ length: n }, (_, i) => benchEvent(`r${r}${name}`, i));
      const meter = redisWorkMeter(redis);
      await meter.ready;
      const cpu = process.cpuUsage();
      const t = performance.now();
      for (let i = 0; i < n; i += 1_000) await sides[name]!(events.slice(i, i + 1_000));
      const seconds = (performance.now() - t) / 1000;
      const used = cpuMs(process.cpuUsage(cpu));
      const work = await meter.stop();
      (figures[name] ??= []).push({ perSec: n / seconds, cpuUs: (used / n) * 1000, redisUs: (work.cpuMs / n) * 1000 });
    }
    await producer.close();
    await queue.close();
  }
} finally {
  await redis.stop();
}
const med = (name: string, pick: (f: { perSec: number; cpuUs: number; redisUs: number }) => number) => median(figures[name]!.map(pick));
process.stdout.write(`${rounds} rounds of ${n} events, medians\n`);
for (const name of Object.keys(figures)) {
  process.stdout.write(`${name.padEnd(17)} ${String(Math.round(med(name, (f) => f.perSec))).padStart(7)} events/s   process ${med(name, (f) => f.cpuUs).toFixed(1).padStart(5)} µs/event   `
    + `Redis ${med(name, (f) => f.redisUs).toFixed(1).padStart(5)} µs/event\n`);
}
const bareWithValidation = 1 / (1 / med('bare', (f) => f.perSec) + 1 / med('validation', (f) => f.perSec));
process.stdout.write(`bare addBulk with our validation in front: ${Math.round(bareWithValidation)} events/s\n`);
process.exit(0);
