import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { keyspace, type KeyLayout, type Keyspace } from '../../src/queues/keyspace.js';
import { deliveryQueueNames, QUEUES } from '../../src/queues/names.js';
import type { DeliveryProfile } from '../harness/baselines.js';
import { clusterWorkMeter, commandCpuMs, keyHeads, keySlot, masterShares, sumCommands, type BenchCluster, type MasterWork } from '../harness/cluster.js';
import { cpuMeter, enqueueEvents, startOurPipeline, type OurPipeline } from '../harness/pipeline.js';
import { sleep } from '../harness/processes.js';
import { round } from '../harness/stats.js';
import type { BenchContext } from '../harness/types.js';
import { benchEvent, exampleRulesFile, FOUR_RULES, FOUR_RULES_DELIVERIES, freshRun, UNLIMITED, type BenchVendor } from '../harness/workload.js';
import { checkDelivered } from './verify.js';

export type Placement = 'natural' | 'spread';

/** What a cluster run keeps as a baseline. */
export interface ClusterProfile extends DeliveryProfile {
  layout: KeyLayout;
  placement?: Placement;
  /** QUEUE_PARTITIONS of the run, e.g. `mantago=2` (absent: none). */
  partitions?: string;
  n: number;
  masters: Array<{ node: string; queues: string[]; sharePct: number; mainThreadMsPerDelivery: number }>;
}

export const VENDORS = Object.keys(FOUR_RULES_DELIVERIES) as BenchVendor[];
export const PER_ORDER = VENDORS.reduce((a, v) => a + FOUR_RULES_DELIVERIES[v]!, 0);

export interface MeasureOptions {
  layout: KeyLayout;
  placement?: Placement;
  /** QUEUE_PARTITIONS for the workers, e.g. `mantago=2,twin24=2`. */
  partitions?: string;
  n: number;
  /** No job finished for this long: the run fails with a diagnosis instead of waiting on. */
  stallMs: number;
}

export interface Measured {
  profile: ClusterProfile;
  work: MasterWork[];
  seconds: number;
  workerCpuMs: Map<string, number>;
}

/** `mantago=2,twin24=2` → { mantago: 2, twin24: 2 } (the workers validate the same text). */
export function parsePartitions(raw = ''): Record<string, number> {
  return Object.fromEntries(raw.split(',').map((p) => p.trim()).filter(Boolean).map((p) => {
    const [name, count] = p.split('=').map((x) => x.trim());
    return [name!, Number(count)];
  }));
}

/** Delivery queues of a vendor in a run (its partitions, or the one queue). */
const deliveryQueuesOf = (v: BenchVendor, partitions: Record<string, number>) => deliveryQueueNames(v, partitions[v] ?? 1);

/**
 * Slots to give to chosen masters when the cluster is made (--placement spread, per-queue layout): the run's queues
 * round-robin over the masters, as an operator would place them. In the per-queue layout a queue's tag is its name.
 */
export function spreadSlots(partitions: string | undefined, masters: number): Array<[number, number]> {
  return queuesOfRun(parsePartitions(partitions)).map((q, i) => [keySlot(`{${q}}`), i % masters]);
}

/** The queues a four-rules run fills (results: the hand-back; results-webhook: its relay). */
function queuesOfRun(partitions: Record<string, number>): string[] {
  return [QUEUES.orders, ...VENDORS.flatMap((v) => deliveryQueuesOf(v, partitions)), QUEUES.results, QUEUES.webhook];
}

/** One measured four-rules run on the cluster (flushed after). */
export async function measure(ctx: BenchContext, c: BenchCluster, opts: MeasureOptions): Promise<Measured> {
  const { layout, n, stallMs } = opts;
  const partitions = parsePartitions(opts.partitions);
  const run = freshRun('c');
  // The single layout needs the one hash tag on a cluster; per-queue must have none (each queue gets its own).
  const prefix = layout === 'single' ? `{${run}}` : run;
  const keys = keyspace(prefix, layout);
  const keyOf = (q: string) => `${keys.queuePrefix(q)}:${q}:wait`;
  const queues = queuesOfRun(partitions);
  const placement = await Promise.all(queues.map(async (q) => [q, await c.masterOf(keyOf(q))] as const));
  ctx.log(`cluster ${layout}: queues by master: ${placement.map(([q, m]) => `${q} → ${m + 1}`).join(', ')}`);
  await ctx.sandbox.reset();
  const env: Record<string, string> = Object.fromEntries(VENDORS.map((v) => [`${v.toUpperCase()}_RATE_LIMIT`, UNLIMITED]));
  if (opts.partitions) env.QUEUE_PARTITIONS = opts.partitions;
  let p: OurPipeline;
  try {
    p = await startOurPipeline(ctx, {
      vendor: VENDORS[0]!, vendors: VENDORS, routesFile: exampleRulesFile(FOUR_RULES, 'routes-four-rules.json'), prefix, env,
      target: { layout, env: { REDIS_CLUSTER_NODES: c.nodes.join(','), REDIS_KEY_LAYOUT: layout }, connection: c.connection, producer: { clusterNodes: c.nodes } },
    });
  } catch (e) {
    throw new Error(`cluster ${layout}: the worker processes did not start on the cluster: ${e instanceof Error ? e.message : String(e)}`);
  }
  const watch = (name: string) => new Queue(name, { connection: c.connection, prefix: keys.queuePrefix(name) });
  const watched: Watched[] = [
    { label: QUEUES.orders, queues: [watch(QUEUES.orders)], want: n },
    ...VENDORS.map((v) => ({ label: v, queues: deliveryQueuesOf(v, partitions).map(watch), want: n * FOUR_RULES_DELIVERIES[v]! })),
  ];
  let fallback: OrderNotifyProducer | undefined;
  try {
    const events = Array.from({ length: n }, (_, i) => benchEvent(run, i));
    const cpu = cpuMeter(p.children());
    const meter = clusterWorkMeter(c.masters);
    await meter.ready;
    const t0 = Date.now();
    fallback = await enqueueAll(ctx, c, p, keys, layout, events);
    const done = await waitAll(watched, stallMs, () => diagnose(c, p, keys, layout, partitions), ctx.log);
    const used = cpu.stop();
    const work = await meter.stop();
    if (done.failed) throw new Error(`cluster ${layout}: ${done.failed} jobs failed (logs in ${ctx.logDir})`);
    for (const v of VENDORS) await checkDelivered(ctx.sandbox, v, n * FOUR_RULES_DELIVERIES[v]!);
    const used_ = await usedQueues(c, keys, queues);
    const seconds = (done.at - t0) / 1000;
    const deliveries = n * PER_ORDER;
    const shares = masterShares(work);
    const per = (ms: number) => round(ms / deliveries, 4);
    const profile: ClusterProfile = {
      layout, placement: layout === 'per-queue' ? opts.placement ?? 'natural' : undefined, partitions: opts.partitions, n,
      deliveriesPerSec: Math.round(deliveries / seconds),
      redisCpuMsPerDelivery: per(work.reduce((a, w) => a + w.procCpuMs, 0)),
      redisMainThreadMsPerDelivery: per(work.reduce((a, w) => a + commandCpuMs(w), 0)),
      workerCpuMsPerDelivery: per([...used.values()].reduce((a, b) => a + b, 0)),
      commands: Object.fromEntries(Object.entries(sumCommands(work)).map(([k, v]) => [k, { calls: round(v.calls / deliveries, 3), usec: round(v.usec / deliveries, 2) }])),
      masters: work.map((w, i) => ({
        node: w.node,
        queues: placement.filter(([q, m]) => m === i && used_.has(q)).map(([q]) => q),
        sharePct: round(shares[i]!, 1),
        mainThreadMsPerDelivery: per(commandCpuMs(w)),
      })),
    };
    return { profile, work, seconds, workerCpuMs: used };
  } finally {
    await fallback?.close();
    await Promise.all(watched.flatMap((w) => w.queues.map((q) => q.close())));
    await p.stop();
    await c.flush();
  }
}

/**
 * Enqueues through the pipeline's producer (prefix + keyLayout). A producer without a key-layout option keeps the
 * orders queue under the bare prefix, which the cluster refuses (CROSSSLOT) before anything is added: then the
 * events go through a producer given the orders queue's own prefix (keys.queuePrefix('orders')), the other way a
 * caller can place it. Returns that producer (to close), if used.
 */
async function enqueueAll(ctx: BenchContext, c: BenchCluster, p: OurPipeline, keys: Keyspace, layout: KeyLayout, events: OrderPaid[]): Promise<OrderNotifyProducer | undefined> {
  try {
    await enqueueEvents(p.producer, events);
    return undefined;
  } catch (e) {
    if (layout !== 'per-queue' || !/CROSSSLOT/i.test(String(e))) throw new Error(missingLayout(layout, 'the producer (src/producer/producer.ts, run in the bench process)', e));
  }
  ctx.log(`cluster ${layout}: the producer took no key layout (CROSSSLOT); enqueueing with prefix ${keys.queuePrefix(QUEUES.orders)} instead`);
  const alt = createProducer({ clusterNodes: c.nodes, prefix: keys.queuePrefix(QUEUES.orders) });
  try {
    await enqueueEvents(alt, events);
    return alt;
  } catch (e) {
    await alt.close();
    throw new Error(missingLayout(layout, 'the producer (src/producer/producer.ts, run in the bench process)', e));
  }
}

/** Queues that got keys in the run (a queue a change made obsolete, e.g. results, is left out of the placement). */
async function usedQueues(c: BenchCluster, keys: Keyspace, queues: string[]): Promise<Set<string>> {
  const used = new Set<string>();
  for (const q of queues) {
    const base = `${keys.queuePrefix(q)}:${q}`;
    if (await c.connection.exists(`${base}:meta`) || await c.connection.exists(`${base}:events`) || await c.connection.exists(`${base}:id`)) used.add(q);
  }
  return used;
}

/** The error of a run whose layout a component does not take yet (CROSSSLOT from the cluster). */
export function missingLayout(layout: KeyLayout, who: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (layout === 'per-queue' && /CROSSSLOT/i.test(msg)) {
    return `cluster per-queue: ${who} does not use the per-queue key layout yet: Redis answered "${msg.slice(0, 200)}" `
      + '(its keys still sit under the bare QUEUE_PREFIX, which has no hash tag, so one script touches several slots). '
      + 'Needed: every BullMQ queue and every key of ours through config.keys (src/queues/keyspace.ts). '
      + 'Meanwhile `--layout single` measures the one-hash-tag layout.';
  }
  return `cluster ${layout}: ${who} failed: ${msg}`;
}

interface Watched { label: string; queues: Queue[]; want: number }

/** Waits until every group of queues has its jobs finished; fails with `diagnose()` when nothing moved for stallMs. */
async function waitAll(watched: Watched[], stallMs: number, diagnose: () => Promise<string>, log: (m: string) => void): Promise<{ at: number; failed: number }> {
  let last = -1;
  let lastChange = Date.now();
  let lastLog = Date.now();
  for (;;) {
    let finished = 0;
    let failed = 0;
    let all = true;
    const seen: string[] = [];
    for (const w of watched) {
      let d = 0;
      for (const q of w.queues) {
        const counts = await q.getJobCounts('completed', 'failed');
        d += (counts.completed ?? 0) + (counts.failed ?? 0);
        failed += counts.failed ?? 0;
      }
      finished += d;
      seen.push(`${w.label} ${d}/${w.want}`);
      if (d < w.want) all = false;
    }
    if (all) return { at: Date.now(), failed };
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      log(`cluster: finished ${seen.join(', ')}`);
    }
    if (finished !== last) {
      last = finished;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(`no job finished for ${stallMs / 1000} s (finished: ${seen.join(', ')}). ${await diagnose()}`);
    }
    await sleep(100);
  }
}

/** Why a run stalled: error lines of the worker logs (CROSSSLOT first), jobs left in unpartitioned queues, key shapes. */
async function diagnose(c: BenchCluster, p: OurPipeline, keys: Keyspace, layout: KeyLayout, partitions: Record<string, number>): Promise<string> {
  const logs = p.children().map((ch) => {
    let text = '';
    try { text = readFileSync(ch.logFile, 'utf8'); } catch { /* not written */ }
    const lines = text.split('\n');
    const line = lines.find((l) => /CROSSSLOT/.test(l)) ?? lines.find((l) => /"level":(50|60)/.test(l));
    return line ? `${ch.name}: ${line.slice(0, 300)}` : undefined;
  }).filter(Boolean);
  const notes: string[] = [];
  if (layout === 'per-queue' && logs.some((l) => /CROSSSLOT/.test(l!))) {
    notes.push('Worker processes hit CROSSSLOT: they do not use the per-queue key layout yet (every BullMQ queue and key of ours must go through config.keys, src/queues/keyspace.ts); meanwhile `--layout single` works.');
  }
  for (const v of VENDORS.filter((x) => (partitions[x] ?? 1) > 1)) {
    const whole = deliveryQueueNames(v, 1)[0]!;
    const q = new Queue(whole, { connection: c.connection, prefix: keys.queuePrefix(whole) });
    const counts = await q.getJobCounts().catch(() => ({} as Record<string, number>));
    await q.close();
    const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
    if (jobs > 0) notes.push(`QUEUE_PARTITIONS=${v}=${partitions[v]} but ${jobs} jobs went to the unpartitioned ${whole}: the fan-out or the ${v} workers do not use partitions yet (src/queues/names.ts deliveryQueueOf).`);
  }
  const heads = await keyHeads(c).catch((e: unknown) => [`(key scan failed: ${String(e)})`]);
  notes.push(logs.length ? `First error line per process: ${logs.join(' | ')}` : 'No error lines in the worker logs.', `Keys by master: ${heads.join('; ')}`);
  return notes.join(' ');
}
