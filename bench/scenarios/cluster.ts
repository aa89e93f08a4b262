import { writeFileSync } from 'node:fs';
import { beforeAfterTable, consoleTable, type Baseline } from '../harness/baselines.js';
import { startBenchCluster } from '../harness/cluster.js';
import { perDelivery } from '../harness/redis-work.js';
import { loadBaseline } from '../harness/report.js';
import { round } from '../harness/stats.js';
import type { Scenario, ScenarioResult, Section } from '../harness/types.js';
import type { KeyLayout } from '../../src/queues/keyspace.js';
import { clusterPlot, describeRun } from './cluster-plot.js';
import { measure, PER_ORDER, spreadSlots, type ClusterProfile, type Measured, type Placement } from './cluster-run.js';

export type { ClusterProfile } from './cluster-run.js';

/**
 * Flags: --n (orders, default 2000), --layout per-queue|single (default per-queue; single = today's one hash tag, the
 * "before"), --masters (default 3), --stall-s (no progress for this long = fail with a diagnosis, default 60),
 * --label <name> (keep the figures as baseline <name>), --before <name> (compare with it, default "before"),
 * --plot (SVG path, default bench/cluster.svg), --placement natural|spread (natural = the slots where a fresh
 * cluster puts them; spread = the run's queue slots given round-robin to the masters when the cluster is made, as an
 * operator would place them; per-queue layout only), --partitions mantago=2,twin24=2 (QUEUE_PARTITIONS
 * for the workers; the bench waits on every partition).
 */

export const SHARE_GOAL_PCT = 45;

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
    + 'KEYSLOT of the queue\'s keys; "natural slots" is where a fresh `redis-cli --cluster create` puts them, "slots '
    + 'spread" gives the run\'s queue slots round-robin to the masters when the cluster is made (CLUSTER ADDSLOTSRANGE), '
    + 'as an operator would place them; `--partitions` sets QUEUE_PARTITIONS for the workers.',
  async run(ctx) {
    const n = ctx.opts.n ?? 2_000;
    const layout = String(ctx.opts.layout ?? 'per-queue') as KeyLayout;
    if (layout !== 'single' && layout !== 'per-queue') throw new Error(`--layout must be single or per-queue, got ${layout}`);
    const beforeLabel = String(ctx.opts.before ?? 'before');
    const placement = String(ctx.opts.placement ?? 'natural') as Placement;
    if (placement !== 'natural' && placement !== 'spread') throw new Error(`--placement must be natural or spread, got ${placement}`);
    const masters = Number(ctx.opts.masters ?? 3);
    const partitions = ctx.opts.partitions === undefined ? undefined : String(ctx.opts.partitions);
    const c = await startBenchCluster(masters, placement === 'spread' && layout === 'per-queue' ? spreadSlots(partitions, masters) : []);
    try {
      const measured = await measure(ctx, c, {
        layout, placement, n, stallMs: Number(ctx.opts['stall-s'] ?? 60) * 1000, partitions,
      });
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

function summarise(m: Measured, beforeLabel: string, before: Baseline<ClusterProfile> | undefined): ScenarioResult {
  const p = m.profile;
  const maxShare = Math.max(...p.masters.map((x) => x.sharePct));
  const figures: ScenarioResult['figures'] = {
    layout: describeRun(p), n: p.n, masters: p.masters.length, deliveries_per_s: p.deliveriesPerSec,
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
        `Before = baseline "${beforeLabel}" (run ${before.run}, layout ${describeRun(b)}, N = ${b.n}): master shares ${b.masters.map((x) => `${x.sharePct} %`).join(' / ')}; `
        + `after = this run (layout ${describeRun(p)}, N = ${p.n}): ${p.masters.map((x) => `${x.sharePct} %`).join(' / ')}. Commands summed over the masters, per delivery.`, '',
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
