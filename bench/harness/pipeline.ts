import { Queue } from 'bullmq';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { createProducer, type OrderNotifyProducer, type ProducerOptions } from '../../src/producer/producer.js';
import type { RedisConnection } from '../../src/queues/connection.js';
import { keyspace, type KeyLayout } from '../../src/queues/keyspace.js';
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
  /** Where it runs: default the bench's single Redis in the single key layout. */
  target?: BenchTarget;
}

/** A Redis (or Cluster) to run a pipeline on, with the key layout its workers and the harness use. */
export interface BenchTarget {
  layout: KeyLayout;
  /** Env that points worker processes at it (REDIS_URL or REDIS_CLUSTER_NODES, REDIS_KEY_LAYOUT). */
  env: Record<string, string>;
  /** The harness's own connection (queues it watches). */
  connection: RedisConnection;
  /** How the bench's producer connects. */
  producer: Pick<ProducerOptions, 'redisUrl' | 'clusterNodes'>;
}

/**
 * The producer for a layout. The key layout is passed under the option names the producer may take (`keys`,
 * `keyLayout`): a producer that ignores them keeps every queue under the bare prefix, which a cluster rejects with
 * CROSSSLOT on the first enqueue, so the run stops with that error instead of measuring the wrong layout.
 */
function benchProducer(prefix: string, target: BenchTarget): OrderNotifyProducer {
  const opts: ProducerOptions & { keys?: unknown; keyLayout?: KeyLayout } = {
    ...target.producer, prefix, ...(target.layout === 'single' ? {} : { keys: keyspace(prefix, target.layout), keyLayout: target.layout }),
  };
  return createProducer(opts);
}

export async function startOurPipeline(ctx: BenchContext, opts: PipelineOptions): Promise<OurPipeline> {
  const target = opts.target;
  const env = workerEnv(ctx.redis.url, opts.prefix, ctx.sandbox, { ROUTES_FILE: opts.routesFile ?? oneRuleRoutesFile(opts.vendor), ...target?.env, ...opts.env });
  if (target?.env.REDIS_CLUSTER_NODES) delete env.REDIS_URL;
  const vendors = opts.vendors ?? [opts.vendor];
  const spawnOpts = (name: string) => ({ name: `${opts.prefix}-${name}`, env, runtime: ctx.runtime, logDir: ctx.logDir, profileDir: ctx.profileDir });
  const starting: Array<Promise<NodeChild>> = [];
  if (opts.fanout !== false) starting.push(startWorkerProcess('workers/fanout.ts', spawnOpts('fanout')));
  for (const vendor of vendors) {
    for (let k = 0; k < (opts.vendorProcesses ?? 1); k++) starting.push(startWorkerProcess(`workers/${vendor}.ts`, spawnOpts(`${vendor}-${k}`)));
  }
  const started = await Promise.all(starting);
  const fanout = opts.fanout !== false ? started.shift() : undefined;
  const producer = target ? benchProducer(opts.prefix, target) : createProducer({ redisUrl: ctx.redis.url, prefix: opts.prefix });
  const keys = keyspace(opts.prefix, target?.layout ?? 'single');
  const connection = target?.connection ?? ctx.redis.client;
  const watch = (name: string) => new Queue(name, { connection, prefix: keys.queuePrefix(name) });
  const deliveryQueues = new Map(vendors.map((v) => [v, watch(deliveryQueueName(v))]));
  const deliveries = deliveryQueues.get(vendors[0]!)!;
  const orders = watch(QUEUES.orders);
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
