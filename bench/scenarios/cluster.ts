import { readFileSync, writeFileSync } from 'node:fs';
import type { Queue } from 'bullmq';
import { keyspace, type KeyLayout } from '../../src/queues/keyspace.js';
import { deliveryQueueName, QUEUES } from '../../src/queues/names.js';
import { beforeAfterTable, consoleTable, type Baseline, type DeliveryProfile } from '../harness/baselines.js';
import { clusterWorkMeter, commandCpuMs, keyHeads, masterShares, placeSlots, startBenchCluster, sumCommands, type BenchCluster, type MasterWork } from '../harness/cluster.js';
import { cpuMeter, enqueueEvents, startOurPipeline, type OurPipeline } from '../harness/pipeline.js';
import { sleep } from '../harness/processes.js';
import { perDelivery } from '../harness/redis-work.js';
import { loadBaseline } from '../harness/report.js';
import { round } from '../harness/stats.js';
import type { BenchContext, Scenario, ScenarioResult, Section } from '../harness/types.js';
import { benchEvent, exampleRulesFile, FOUR_RULES, FOUR_RULES_DELIVERIES, freshRun, UNLIMITED, type BenchVendor } from '../harness/workload.js';
import { clusterPlot, describeRun } from './cluster-plot.js';
import { checkDelivered } from './verify.js';

/**
 * Flags: --n (orders, default 2000), --layout per-queue|single (default per-queue; single = today's one hash tag, the
 * "before"), --masters (default 3), --stall-s (no progress for this long = fail with a diagnosis, default 60),
 * --label <name> (keep the figures as baseline <name>), --before <name> (compare with it, default "before"),
 * --plot (SVG path, default bench/cluster.svg), --placement natural|spread (natural = the slots where a fresh
 * cluster puts them; spread = the run's queue slots moved round-robin over the masters before the run, as an operator
 * would place them with CLUSTER SETSLOT; per-queue layout only).
 */

export const SHARE_GOAL_PCT = 45;
export type Placement = 'natural' | 'spread';

/** What a cluster run keeps as a baseline. */
export interface ClusterProfile extends DeliveryProfile {
  layout: KeyLayout;
  placement?: Placement;
  n: number;
  masters: Array<{ node: string; queues: string[]; sharePct: number; mainThreadMsPerDelivery: number }>;
}

const VENDORS = Object.keys(FOUR_RULES_DELIVERIES) as BenchVendor[];
const PER_ORDER = VENDORS.reduce((a, v) => a + FOUR_RULES_DELIVERIES[v]!, 0);
/** The queues a four-rules run fills (results: the hand-back, written per status change). */
const queuesOfRun = () => [QUEUES.orders, ...VENDORS.map(deliveryQueueName), QUEUES.results, QUEUES.webhook];

export const cluster: Scenario = {
  name: 'cluster',
  title: 'Redis Cluster: Redis CPU per master (four-rules workload)',
  method:
    'A private 3-master Redis Cluster (no replicas, AOF everysec like the single bench Redis) and the real pipeline on it: '
    + 'workers/fanout.ts and one workers/<vendor>.ts process per vendor of the four-rules workload (LINE + Facebook via '
    + 'MantaGO, Messenger via JoinChat, WhatsApp via Twin24; rate limits that never bind), REDIS_CLUSTER_NODES set, and '
    + 'REDIS_KEY_LAYOUT=per-queue with a QUEUE_PREFIX without braces (or `--layout single` with QUEUE_PREFIX={prefix}: '
    + 'today\'s one hash tag, the "before"). N orders (default 2,000) are enqueued with orderPaidBulk; the clock runs '
    + 'until every delivery job is completed, then the sandbox must hold every recipient exactly once. Each master\'s '
    + 'INFO cpu (used_cpu_*_main_thread: the thread running commands) and INFO commandstats are read before and after; '
    + 'a master\'s share is its main-thread CPU over the sum of all masters\'. The harness polls job counts every 100 ms '
    + '(one script call per watched queue, on the master holding it). Which master holds which queue comes from CLUSTER '
    + 'KEYSLOT of the queue\'s keys.',
  async run(ctx) {
    const n = ctx.opts.n ?? 2_000;
    const layout = String(ctx.opts.layout ?? 'per-queue') as KeyLayout;
    if (layout !== 'single' && layout !== 'per-queue') throw new Error(`--layout must be single or per-queue, got ${layout}`);
    const beforeLabel = String(ctx.opts.before ?? 'before');
    const placement = String(ctx.opts.placement ?? 'natural') as Placement;
    if (placement !== 'natural' && placement !== 'spread') throw new Error(`--placement must be natural or spread, got ${placement}`);
    const c = await startBenchCluster(Number(ctx.opts.masters ?? 3));
    try {
      const measured = await measure(ctx, c, { layout, placement, n, stallMs: Number(ctx.opts['stall-s'] ?? 60) * 1000 });
      const before = loadBaseline<ClusterProfile>('cluster', beforeLabel);
      const result = summarise(measured, beforeLabel, before);
      ctx.log(`cluster ${layout}: per master\n${clusterConsole(result)}`);
      for (const s of result.sections ?? []) ctx.log(`${s.title}\n${consoleTable(s.lines)}`);
      if (ctx.opts.label !== undefined) result.baseline = { label: String(ctx.opts.label), profile: measured.profile };
      if (ctx.opts.write !== false) {
        writeFileSync(String(ctx.opts.plot ?? 'bench/cluster.svg'), clusterPlot(measured.profile, before ? { label: beforeLabel, profile: before.profile } : undefined));
      }
      return result;
    } finally {
      await c.stop();
    }
  },
  baselineOf: (result) => (result.runs?.[0] as { profile?: ClusterProfile } | undefined)?.profile,
};

interface Measured {
  profile: ClusterProfile;
  work: MasterWork[];
  seconds: number;
  workerCpuMs: Map<string, number>;
}

export interface MeasureOptions { layout: KeyLayout; placement?: Placement; n: number; stallMs: number }

export async function measure(ctx: BenchContext, c: BenchCluster, opts: MeasureOptions): Promise<Measured> {
  const { layout, n, stallMs } = opts;
  const run = freshRun('c');
  // The single layout needs the one hash tag on a cluster; per-queue must have none (each queue gets its own).
  const prefix = layout === 'single' ? `{${run}}` : run;
  const keys = keyspace(prefix, layout);
  const keyOf = (q: string) => `${keys.queuePrefix(q)}:${q}:wait`;
  if (opts.placement === 'spread' && layout === 'per-queue') {
    const moved = await placeSlots(c, queuesOfRun().map((q, i) => [keyOf(q), i % c.masters.length]));
    ctx.log(`cluster ${layout}: ${moved} queue slots moved to spread the queues round-robin over the masters`);
  }
  const placement = await Promise.all(queuesOfRun().map(async (q) => [q, await c.masterOf(keyOf(q))] as const));
  ctx.log(`cluster ${layout}: queues by master: ${placement.map(([q, m]) => `${q} → ${m + 1}`).join(', ')}`);
  await ctx.sandbox.reset();
  const env = Object.fromEntries(VENDORS.map((v) => [`${v.toUpperCase()}_RATE_LIMIT`, UNLIMITED]));
  let p: OurPipeline;
  try {
    p = await startOurPipeline(ctx, {
      vendor: VENDORS[0]!, vendors: VENDORS, routesFile: exampleRulesFile(FOUR_RULES, 'routes-four-rules.json'), prefix, env,
      target: { layout, env: { REDIS_CLUSTER_NODES: c.nodes.join(','), REDIS_KEY_LAYOUT: layout }, connection: c.connection, producer: { clusterNodes: c.nodes } },
    });
  } catch (e) {
    throw new Error(`cluster ${layout}: the worker processes did not start on the cluster: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    const events = Array.from({ length: n }, (_, i) => benchEvent(run, i));
    const cpu = cpuMeter(p.children());
    const meter = clusterWorkMeter(c.masters);
    await meter.ready;
    const t0 = Date.now();
    try {
      await enqueueEvents(p.producer, events);
    } catch (e) {
      throw new Error(missingLayout(layout, 'the producer (src/producer/producer.ts, run in the bench process)', e));
    }
    const watched: Array<[Queue, number]> = [[p.orders, n], ...VENDORS.map((v) => [p.deliveryQueues.get(v)!, n * FOUR_RULES_DELIVERIES[v]!] as [Queue, number])];
    const done = await waitAll(watched, stallMs, () => diagnose(c, p, layout));
    const used = cpu.stop();
    const work = await meter.stop();
    if (done.failed) throw new Error(`cluster ${layout}: ${done.failed} jobs failed (logs in ${ctx.logDir})`);
    for (const v of VENDORS) await checkDelivered(ctx.sandbox, v, n * FOUR_RULES_DELIVERIES[v]!);
    const seconds = (done.at - t0) / 1000;
    const deliveries = n * PER_ORDER;
    const shares = masterShares(work);
    const per = (ms: number) => round(ms / deliveries, 4);
    const commands = sumCommands(work);
    const profile: ClusterProfile = {
      layout, placement: layout === 'per-queue' ? opts.placement ?? 'natural' : undefined, n,
      deliveriesPerSec: Math.round(deliveries / seconds),
      redisCpuMsPerDelivery: per(work.reduce((a, w) => a + w.procCpuMs, 0)),
      redisMainThreadMsPerDelivery: per(work.reduce((a, w) => a + commandCpuMs(w), 0)),
      workerCpuMsPerDelivery: per([...used.values()].reduce((a, b) => a + b, 0)),
      commands: Object.fromEntries(Object.entries(commands).map(([k, v]) => [k, { calls: round(v.calls / deliveries, 3), usec: round(v.usec / deliveries, 2) }])),
      masters: work.map((w, i) => ({
        node: w.node, queues: placement.filter(([, m]) => m === i).map(([q]) => q), sharePct: round(shares[i]!, 1), mainThreadMsPerDelivery: per(commandCpuMs(w)),
      })),
    };
    return { profile, work, seconds, workerCpuMs: used };
  } finally {
    await p.stop();
    await c.flush();
  }
}

/** The error of a run whose layout a component does not take yet (CROSSSLOT from the cluster). */
function missingLayout(layout: KeyLayout, who: string, e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (layout === 'per-queue' && /CROSSSLOT/i.test(msg)) {
    return `cluster per-queue: ${who} does not use the per-queue key layout yet: Redis answered "${msg.slice(0, 200)}" `
      + '(its keys still sit under the bare QUEUE_PREFIX, which has no hash tag, so one script touches several slots). '
      + 'Needed: every BullMQ queue and every key of ours through config.keys (src/queues/keyspace.ts). '
      + 'Meanwhile `--layout single` measures the one-hash-tag layout.';
  }
  return `cluster ${layout}: ${who} failed: ${msg}`;
}

/** Waits until every queue has its jobs finished; fails with `diagnose()` when nothing moved for stallMs. */
async function waitAll(watched: Array<[Queue, number]>, stallMs: number, diagnose: () => Promise<string>): Promise<{ at: number; failed: number }> {
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    let finished = 0;
    let failed = 0;
    let all = true;
    for (const [q, want] of watched) {
      const counts = await q.getJobCounts('completed', 'failed');
      const d = (counts.completed ?? 0) + (counts.failed ?? 0);
      finished += d;
      failed += counts.failed ?? 0;
      if (d < want) all = false;
    }
    if (all) return { at: Date.now(), failed };
    if (finished !== last) {
      last = finished;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > stallMs) {
      throw new Error(`no job finished for ${stallMs / 1000} s (${finished} of ${watched.reduce((a, [, w]) => a + w, 0)} finished). ${await diagnose()}`);
    }
    await sleep(100);
  }
}

/** Why a run stalled: the worker logs that show CROSSSLOT (or other errors) and where the keys went. */
async function diagnose(c: BenchCluster, p: OurPipeline, layout: KeyLayout): Promise<string> {
  const logs = p.children().map((ch) => {
    let text = '';
    try { text = readFileSync(ch.logFile, 'utf8'); } catch { /* not written */ }
    const line = text.split('\n').find((l) => /CROSSSLOT|"level":(50|60)/.test(l));
    return line ? `${ch.name}: ${line.slice(0, 300)}` : undefined;
  }).filter(Boolean);
  const crossSlot = logs.some((l) => /CROSSSLOT/.test(l!));
  const heads = await keyHeads(c).catch((e: unknown) => [`(key scan failed: ${String(e)})`]);
  return [
    crossSlot && layout === 'per-queue'
      ? 'Worker processes hit CROSSSLOT: they do not use the per-queue key layout yet (every BullMQ queue and key of ours must go through config.keys, src/queues/keyspace.ts); meanwhile `--layout single` works.'
      : '',
    logs.length ? `First error line per process: ${logs.join(' | ')}` : 'No error lines in the worker logs.',
    `Keys by master: ${heads.join('; ')}`,
  ].filter(Boolean).join(' ');
}

function summarise(m: Measured, beforeLabel: string, before: Baseline<ClusterProfile> | undefined): ScenarioResult {
  const p = m.profile;
  const maxShare = Math.max(...p.masters.map((x) => x.sharePct));
  const figures: ScenarioResult['figures'] = {
    layout: p.layout, n: p.n, masters: p.masters.length, deliveries_per_s: p.deliveriesPerSec,
    redis_main_thread_ms_per_delivery: p.redisMainThreadMsPerDelivery ?? null, redis_cpu_ms_per_delivery: p.redisCpuMsPerDelivery,
    worker_cpu_ms_per_delivery: p.workerCpuMsPerDelivery ?? null, max_master_share_pct: maxShare,
    ...Object.fromEntries(p.masters.map((x, i) => [`master_${i + 1}_share_pct`, x.sharePct])),
  };
  const rows = m.work.map((w, i) => {
    const deliveries = p.n * PER_ORDER;
    const pd = perDelivery(w, deliveries);
    const top = pd.rows.filter((r) => !r.script && r.calls >= 0.005).sort((a, b) => b.calls - a.calls).slice(0, 5).map((r) => `${r.name} ${round(r.calls, 2)}`).join(', ');
    return [i + 1, w.node, p.masters[i]!.queues.join(', ') || '—', `${p.masters[i]!.sharePct} %`, p.masters[i]!.mainThreadMsPerDelivery,
      round(w.procCpuMs / deliveries, 4), round(pd.scriptCalls, 2), round(pd.allCalls, 1), top || '—'];
  });
  const sections: Section[] = [];
  if (before) {
    const b = before.profile;
    sections.push({
      title: `Before / after on the cluster: against baseline "${beforeLabel}"`,
      lines: [
        `Before = baseline "${beforeLabel}" (run ${before.run}, layout ${b.layout}, N = ${b.n}): master shares ${b.masters.map((x) => `${x.sharePct} %`).join(' / ')}; `
        + `after = this run (layout ${p.layout}, N = ${p.n}): ${p.masters.map((x) => `${x.sharePct} %`).join(' / ')}. Commands summed over the masters, per delivery.`, '',
        ...beforeAfterTable(b, p),
      ],
    });
  }
  return {
    scenario: 'cluster',
    figures,
    goals: [{ goal: `3-master Redis Cluster: no master above ${SHARE_GOAL_PCT} % of the run's Redis CPU (layout ${describeRun(p)})`, measured: `largest ${maxShare} % (${p.masters.map((x) => `${x.sharePct} %`).join(' / ')})`, met: maxShare <= SHARE_GOAL_PCT }],
    table: {
      head: ['master', 'node', 'queues on it', 'share of Redis CPU (main thread)', 'main thread ms/delivery', 'process CPU ms/delivery', 'script calls/delivery', 'commands/delivery (in scripts too)', 'most called plain commands /delivery'],
      rows,
    },
    notes: [
      `Layout ${describeRun(p)}, N = ${p.n} orders × ${PER_ORDER} deliveries in ${round(m.seconds, 1)} s: ${p.deliveriesPerSec} deliveries/s; Redis main thread ${p.redisMainThreadMsPerDelivery} ms per delivery over all masters `
      + `(process ${p.redisCpuMsPerDelivery} ms), workers ${p.workerCpuMsPerDelivery} ms (${[...m.workerCpuMs].map(([k, v]) => `${k.replace(/^[^-]*-/, '')} ${round(v / (p.n * PER_ORDER), 3)}`).join(', ')}).`,
      'Plot: ![share of Redis CPU per master, before and after](cluster.svg)',
    ],
    sections,
    runs: [{ profile: p, work: m.work }],
  };
}

export const clusterConsole = (r: ScenarioResult) => consoleTable([`| ${r.table.head.join(' | ')} |`, ...r.table.rows.map((x) => `| ${x.join(' | ')} |`)]);
