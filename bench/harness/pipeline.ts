import { Queue } from 'bullmq';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { deliveryQueueName, QUEUES } from '../../src/queues/names.js';
import type { BenchVendor } from './workload.js';
import { procCpuMs, startWorkerProcess, sleep, type NodeChild } from './processes.js';
import type { BenchContext } from './types.js';
import { oneRuleRoutesFile, workerEnv } from './workload.js';

/**
 * Our side of a run: the real worker processes (workers/fanout.ts, workers/<vendor>.ts) on a fresh prefix, a
 * producer in the bench process, and the queues to watch.
 */
export interface OurPipeline {
  prefix: string;
  producer: OrderNotifyProducer;
  fanout?: NodeChild;
  vendorProcs: NodeChild[];
  /** The first vendor's delivery queue. */
  deliveries: Queue;
  /** Every vendor's delivery queue (opts.vendors, or the one vendor). */
  deliveryQueues: Map<BenchVendor, Queue>;
  orders: Queue;
  children(): NodeChild[];
  stop(): Promise<void>;
}

export interface PipelineOptions {
  vendor: BenchVendor;
  /** Several vendor processes (one each) instead of `vendor` alone, with `routesFile` saying what the fan-out makes. */
  vendors?: BenchVendor[];
  routesFile?: string;
  prefix: string;
  /** Start the fan-out process (off when deliveries are put in the vendor queue directly). */
  fanout?: boolean;
  /** Vendor worker processes (default 1); 0 = none yet (a backlog builds up). */
  vendorProcesses?: number;
  env?: Record<string, string>;
}

export async function startOurPipeline(ctx: BenchContext, opts: PipelineOptions): Promise<OurPipeline> {
  const env = workerEnv(ctx.redis.url, opts.prefix, ctx.sandbox, { ROUTES_FILE: opts.routesFile ?? oneRuleRoutesFile(opts.vendor), ...opts.env });
  const vendors = opts.vendors ?? [opts.vendor];
  const spawnOpts = (name: string) => ({ name: `${opts.prefix}-${name}`, env, runtime: ctx.runtime, logDir: ctx.logDir, profileDir: ctx.profileDir });
  const starting: Array<Promise<NodeChild>> = [];
  if (opts.fanout !== false) starting.push(startWorkerProcess('workers/fanout.ts', spawnOpts('fanout')));
  for (const vendor of vendors) {
    for (let k = 0; k < (opts.vendorProcesses ?? 1); k++) starting.push(startWorkerProcess(`workers/${vendor}.ts`, spawnOpts(`${vendor}-${k}`)));
  }
  const started = await Promise.all(starting);
  const fanout = opts.fanout !== false ? started.shift() : undefined;
  const producer = createProducer({ redisUrl: ctx.redis.url, prefix: opts.prefix });
  const deliveryQueues = new Map(vendors.map((v) => [v, new Queue(deliveryQueueName(v), { connection: ctx.redis.client, prefix: opts.prefix })]));
  const deliveries = deliveryQueues.get(vendors[0]!)!;
  const orders = new Queue(QUEUES.orders, { connection: ctx.redis.client, prefix: opts.prefix });
  const pipeline: OurPipeline = {
    prefix: opts.prefix,
    producer,
    fanout,
    vendorProcs: started,
    deliveries,
    deliveryQueues,
    orders,
    children: () => [...(pipeline.fanout ? [pipeline.fanout] : []), ...pipeline.vendorProcs],
    async stop() {
      await Promise.all(pipeline.children().map((c) => c.stop()));
      await producer.close();
      await Promise.all([...deliveryQueues.values()].map((q) => q.close()));
      await orders.close();
    },
  };
  return pipeline;
}

/** Adds more vendor worker processes to a running pipeline (e.g. after a backlog was built). */
export async function addVendorProcesses(ctx: BenchContext, p: OurPipeline, vendor: BenchVendor, count: number, env: Record<string, string> = {}): Promise<NodeChild[]> {
  const base = workerEnv(ctx.redis.url, p.prefix, ctx.sandbox, { ROUTES_FILE: oneRuleRoutesFile(vendor), ...env });
  const first = p.vendorProcs.length;
  const added = await Promise.all(Array.from({ length: count }, (_, k) => startWorkerProcess(`workers/${vendor}.ts`, {
    name: `${p.prefix}-${vendor}-${first + k}`, env: base, runtime: ctx.runtime, logDir: ctx.logDir, profileDir: ctx.profileDir,
  })));
  p.vendorProcs.push(...added);
  return added;
}

/** orderPaidBulk in chunks (the monolith's bulk path), in order. */
export async function enqueueEvents(producer: OrderNotifyProducer, events: OrderPaid[], chunk = 1_000): Promise<void> {
  for (let i = 0; i < events.length; i += chunk) {
    const results = await producer.orderPaidBulk(events.slice(i, i + chunk));
    const dup = results.find((r) => r.duplicate);
    if (dup) throw new Error(`bench event ${dup.jobId} was taken for a duplicate: order ids must be fresh per run`);
  }
}

/**
 * Polls until `n` jobs of the queue are finished; returns the time (Date.now()) it first saw them all. Failed jobs
 * count as finished so a broken run ends; callers check that none failed.
 */
export async function waitFinished(queue: Queue, n: number, opts: { everyMs?: number; timeoutMs?: number } = {}): Promise<{ at: number; failed: number }> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  for (;;) {
    const c = await queue.getJobCounts('completed', 'failed');
    if ((c.completed ?? 0) + (c.failed ?? 0) >= n) return { at: Date.now(), failed: c.failed ?? 0 };
    if (Date.now() > deadline) throw new Error(`${queue.name}: only ${c.completed} completed + ${c.failed} failed of ${n} in time`);
    await sleep(opts.everyMs ?? 25);
  }
}

/** CPU time of some processes over a run (by name; pids of processes not spawned here, e.g. redis, work too). */
export function cpuMeter(children: Array<Pick<NodeChild, 'name' | 'cpuMs'>>) {
  const start = new Map(children.map((c) => [c.name, c.cpuMs() ?? 0]));
  return {
    stop(): Map<string, number> {
      return new Map(children.map((c) => [c.name, (c.cpuMs() ?? 0) - (start.get(c.name) ?? 0)]));
    },
  };
}

/** Redis and the sandbox, which both sides share: their CPU per delivery shows the work each side asks of them. */
export function sharedProcesses(ctx: BenchContext): Array<Pick<NodeChild, 'name' | 'cpuMs'>> {
  return [
    { name: 'redis', cpuMs: () => procCpuMs(ctx.redis.pid) },
    { name: 'sandbox', cpuMs: () => procCpuMs(ctx.sandbox.pid) },
  ];
}
