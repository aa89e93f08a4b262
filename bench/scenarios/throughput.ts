import { writeFileSync } from 'node:fs';
import { barChartSvg } from '../harness/plot.js';
import { loadBaseline } from '../harness/report.js';
import { median, round } from '../harness/stats.js';
import type { Scenario, ScenarioResult } from '../harness/types.js';
import { bulkEnqueue, type BulkFigures } from './bulk-enqueue.js';
import { attributeCalls, perOrder, runOnce, WORKLOADS, type RunFigures, type Side, type Workload } from './throughput-run.js';
import { commandTable, attributionTable } from './throughput-tables.js';
import { beforeAfterConsole, beforeAfterSection, throughputProfile, type ThroughputProfile } from './throughput-baseline.js';

/**
 * Flags: --n (orders per run, default 20000), --rounds (default 3), --workloads metabot,twin24,four-rules,
 * (none = only the orderPaidBulk rounds), --sides ours,bare, --bulk-n (orderPaidBulk events, default 20000; 0 = skip), --attribution-n (orders of the MONITOR
 * run per workload and side, default 300; 0 = skip), --plot (SVG path, default bench/throughput.svg),
 * --label <name> (keep this run's cost per delivery as baseline <name> in results.json), --before <name> (the
 * baseline the before/after table compares with, default "before").
 */

type Attribution = Record<string, Record<Side, { client: Record<string, number>; inScripts: Record<string, number> }>>;

export const throughput: Scenario = {
  name: 'throughput',
  title: 'Throughput: the whole path vs a bare BullMQ + axios worker',
  method:
    'N order.paid events (default 20,000) are enqueued with orderPaidBulk (chunks of 1,000) into a running pipeline: '
    + 'workers/fanout.ts and one workers/<vendor>.ts process per vendor the workload uses (LOG_LEVEL=info, rate limit '
    + '1,000,000/s so it never binds, sandbox without faults). Workloads: metabot and twin24 = the one example rule of '
    + 'that vendor (1 delivery per order; Metabot is the non-batching worst case, Twin24 the batching one); four-rules = '
    + 'the realistic one, 4 example rules per order (line-thanks + facebook-thanks via MantaGO, messenger-receipt via '
    + 'JoinChat, whatsapp-confirmation via Twin24; `delay` and `fallback` left out), 4 deliveries per order. The clock runs '
    + 'from the first enqueue until every delivery job is completed; then the sandbox must hold every recipient exactly '
    + 'once. The baseline is one process with a bare BullMQ worker (concurrency 100, like ours) that POSTs each job with '
    + 'axios keep-alive to the same sandbox endpoint (for four-rules the bench enqueues the same 4 messages per order '
    + 'directly, one job each), same Redis, same job retention. Runs alternate (ours then bare, then bare then ours, …) on '
    + 'a flushed Redis; the median of the rounds is reported. Redis work per delivery comes from INFO commandstats / INFO '
    + 'cpu read before and after each run; calls by script name from a separate small run with MONITOR on. '
    + 'orderPaidBulk events/s is measured with nothing consuming, next to the bare addBulk.',
  async run(ctx) {
    const n = ctx.opts.n ?? 20_000;
    const rounds = ctx.opts.rounds ?? 3;
    const chosen = String(ctx.opts.workloads ?? ctx.opts.vendors ?? WORKLOADS.join(','));
    const workloads = (chosen === 'none' ? [] : chosen.split(',')) as Workload[];
    const bad = workloads.filter((w) => !WORKLOADS.includes(w));
    if (bad.length) throw new Error(`unknown workload ${bad.join(', ')} (known: ${WORKLOADS.join(', ')})`);
    const only = String(ctx.opts.sides ?? 'ours,bare').split(',') as Side[];
    const bulkN = Number(ctx.opts['bulk-n'] ?? 20_000);
    const attributionN = Number(ctx.opts['attribution-n'] ?? 300);

    const bulk: BulkFigures[] = [];
    for (let r = 1; bulkN > 0 && r <= rounds; r++) {
      const b = await bulkEnqueue(ctx, bulkN, r);
      ctx.log(`throughput bulk round ${r}: orderPaidBulk ${b.eventsPerSec} events/s (${b.clientCpuMsPerEvent} ms CPU/event, validation ${b.validationCpuMsPerEvent}), `
        + `bare addBulk ${b.bareJobsPerSec} jobs/s (${b.bareClientCpuMsPerEvent} ms CPU/event; ${b.bareWithValidationPerSec}/s with our validation)`);
      bulk.push(b);
    }
    const runs: RunFigures[] = [];
    for (const w of workloads) {
      for (let r = 1; r <= rounds; r++) {
        const sides: Side[] = r % 2 === 1 ? ['ours', 'bare'] : ['bare', 'ours'];
        for (const side of sides.filter((x) => only.includes(x))) {
          const f = await runOnce(ctx, side, w, n, r);
          ctx.log(`throughput ${w} ${side} round ${r}: ${f.deliveriesPerSec} deliveries/s, ${f.requests} requests, CPU ms/delivery `
            + `${f.cpuMsPerDelivery} (${describeCpu([f])}; redis ${f.redisCpuMsPerDelivery}, sandbox ${f.sandboxCpuMsPerDelivery})`);
          runs.push(f);
        }
      }
    }
    const attribution: Attribution = {};
    for (const w of attributionN > 0 ? workloads : []) {
      attribution[w] = { ours: await attributeCalls(ctx, 'ours', w, attributionN), bare: await attributeCalls(ctx, 'bare', w, attributionN) };
      ctx.log(`throughput ${w} attribution (MONITOR, ${attributionN} orders) done`);
    }
    const result = summarise(n, rounds, workloads, runs, bulk, attribution);
    const profile = throughputProfile(runs, n);
    const beforeLabel = String(ctx.opts.before ?? 'before');
    const before = loadBaseline<ThroughputProfile>('throughput', beforeLabel);
    const compared = beforeAfterSection(beforeLabel, before, profile);
    result.sections = [...(result.sections ?? []), compared];
    ctx.log(beforeAfterConsole(compared));
    if (ctx.opts.label !== undefined) result.baseline = { label: String(ctx.opts.label), profile };
    const plot = String(ctx.opts.plot ?? 'bench/throughput.svg');
    if (ctx.opts.write !== false) writeFileSync(plot, plotOf(workloads, runs, before && { label: beforeLabel, profile: before.profile }));
    return result;
  },
  baselineOf: (result) => throughputProfile(result.runs ?? [], Number(result.figures.n)),
};

const med = (list: RunFigures[], pick: (r: RunFigures) => number) => median(list.map(pick));

/** Per-process CPU ms per delivery, the median over the runs: "fanout 0.69, metabot-0 0.66". */
function describeCpu(list: RunFigures[]): string {
  const names = Object.keys(list[0]?.cpuByProcess ?? {});
  return names.map((name) => `${name} ${round(median(list.map((r) => r.cpuByProcess[name] ?? 0)), 2)}`).join(', ');
}

/** Workers + Redis CPU per delivery (the sandbox stands in for the vendors and is left out of the goal). */
const pathCpu = (r: RunFigures) => r.cpuMsPerDelivery + r.redisCpuMsPerDelivery;

/** ours vs bare per workload; with a stored baseline, order-notify's figures from it as a third bar ("before"). */
function plotOf(workloads: Workload[], runs: RunFigures[], before?: { label: string; profile: ThroughputProfile }): string {
  const of = (w: Workload, side: Side, pick: (r: RunFigures) => number) => med(runs.filter((r) => r.workload === w && r.side === side), pick);
  const sides: Side[] = ['ours', 'bare'];
  const was = (pick: (p: { deliveriesPerSec: number; redisCpuMsPerDelivery: number }) => number) =>
    (before ? [workloads.map((w) => { const p = before.profile.workloads[w]?.ours; return p ? pick(p) : Number.NaN; })] : []);
  return barChartSvg({
    title: 'order-notify vs bare BullMQ + axios (median of the rounds)',
    series: ['order-notify', 'bare BullMQ + axios', ...(before ? [`order-notify, baseline "${before.label}"`] : [])],
    panels: [
      { title: 'deliveries/s', unit: 'higher is better', groups: workloads, values: [...sides.map((s) => workloads.map((w) => of(w, s, (r) => r.deliveriesPerSec))), ...was((p) => p.deliveriesPerSec)] },
      { title: 'Redis CPU per delivery', unit: 'ms, lower is better', groups: workloads, values: [...sides.map((s) => workloads.map((w) => of(w, s, (r) => r.redisCpuMsPerDelivery))), ...was((p) => p.redisCpuMsPerDelivery)] },
    ],
    note: `Written by npm run bench -- throughput (${new Date().toISOString().slice(0, 16)}Z); figures in bench/RESULTS.md.`,
  });
}

function summarise(n: number, rounds: number, workloads: Workload[], runs: RunFigures[], bulk: BulkFigures[], attribution: Attribution): ScenarioResult {
  const figures: ScenarioResult['figures'] = { n, rounds };
  const goals: ScenarioResult['goals'] = [];
  const notes: string[] = [];
  const rows: Array<Array<string | number>> = [];
  for (const w of workloads) {
    const ours = runs.filter((r) => r.workload === w && r.side === 'ours');
    const bare = runs.filter((r) => r.workload === w && r.side === 'bare');
    const ratio = round(med(ours, (r) => r.deliveriesPerSec) / med(bare, (r) => r.deliveriesPerSec), 2);
    const cpuRatio = round(med(ours, pathCpu) / med(bare, pathCpu), 2);
    const redisRatio = round(med(ours, (r) => r.redisCpuMsPerDelivery) / med(bare, (r) => r.redisCpuMsPerDelivery), 2);
    const key = w.replace('-', '_');
    figures[`${key}_ours_deliveries_per_s`] = Math.round(med(ours, (r) => r.deliveriesPerSec));
    figures[`${key}_bare_deliveries_per_s`] = Math.round(med(bare, (r) => r.deliveriesPerSec));
    figures[`${key}_ratio`] = ratio;
    figures[`${key}_path_cpu_ratio`] = cpuRatio;
    figures[`${key}_redis_ms_per_delivery_ours`] = round(med(ours, (r) => r.redisCpuMsPerDelivery), 3);
    figures[`${key}_redis_ms_per_delivery_bare`] = round(med(bare, (r) => r.redisCpuMsPerDelivery), 3);
    figures[`${key}_redis_ratio`] = redisRatio;
    const target = w === 'four-rules' ? 1.0 : 0.7;
    const finite = (x: number) => (Number.isFinite(x) ? x : null);
    goals.push({ goal: `${w}: deliveries/s ours / bare ≥ ${target.toFixed(1)}`, measured: `${ratio}`, met: finite(ratio) === null ? null : ratio >= target });
    goals.push({ goal: `${w}: CPU per delivery (workers + Redis) ≤ 1.5× bare`, measured: `${cpuRatio}×`, met: finite(cpuRatio) === null ? null : cpuRatio <= 1.5 });
    goals.push({ goal: `${w}: Redis CPU per delivery ≤ 2× bare`, measured: `${redisRatio}× (${figures[`${key}_redis_ms_per_delivery_ours`]} vs ${figures[`${key}_redis_ms_per_delivery_bare`]} ms)`, met: finite(redisRatio) === null ? null : redisRatio <= 2 });
    if (ours.length && bare.length) {
      const redisCeiling = Math.round(1000 / med(ours, (r) => r.redisMainThreadMsPerDelivery ?? r.redisCpuMsPerDelivery));
      notes.push(`${w}: workers + Redis CPU per delivery ${round(med(ours, pathCpu), 2)} ms for order-notify against ${round(med(bare, pathCpu), 2)} ms bare (${cpuRatio}×); `
        + `Redis alone ${figures[`${key}_redis_ms_per_delivery_ours`]} vs ${figures[`${key}_redis_ms_per_delivery_bare`]} ms (${redisRatio}×), `
        + `so one Redis core tops out near ${redisCeiling} deliveries/s for order-notify on this workload.`);
    }
    for (const [label, list] of [['order-notify', ours], ['bare BullMQ + axios', bare]] as const) {
      if (!list.length) continue;
      rows.push([
        w, label, perOrder(w),
        Math.round(med(list, (r) => r.deliveriesPerSec)),
        label === 'order-notify' ? Math.round(med(list, (r) => r.fannedOutPerSec ?? 0)) : '—',
        Math.round(med(list, (r) => r.requests)),
        round(med(list, (r) => r.recipientsPerRequest), 1),
        `${round(med(list, (r) => r.cpuMsPerDelivery), 3)} (${describeCpu(list)})`,
        round(med(list, (r) => r.redisCpuMsPerDelivery), 3),
        round(med(list, (r) => r.redisMainThreadMsPerDelivery ?? Number.NaN), 3),
        round(med(list, (r) => Object.entries(r.redisCommands).reduce((a, [, c]) => a + c.calls, 0)), 1),
        round(med(list, (r) => r.sandboxCpuMsPerDelivery), 3),
        round(med(list, (r) => r.peakRssMiB), 1),
        list.map((r) => r.deliveriesPerSec).join(' / '),
        label === 'order-notify' ? ratio : '',
      ]);
    }
  }
  if (bulk.length) {
    const b = (pick: (x: BulkFigures) => number) => Math.round(median(bulk.map(pick)));
    figures.order_paid_bulk_events_per_s = b((x) => x.eventsPerSec);
    figures.bare_add_bulk_jobs_per_s = b((x) => x.bareJobsPerSec);
    figures.bare_add_bulk_with_validation_per_s = b((x) => x.bareWithValidationPerSec ?? Number.NaN);
    figures.order_paid_bulk_validation_cpu_ms_per_event = round(median(bulk.map((x) => x.validationCpuMsPerEvent ?? Number.NaN)), 4);
    figures.order_paid_bulk_client_cpu_ms_per_event = round(median(bulk.map((x) => x.clientCpuMsPerEvent ?? Number.NaN)), 3);
    figures.bare_add_bulk_client_cpu_ms_per_event = round(median(bulk.map((x) => x.bareClientCpuMsPerEvent ?? Number.NaN)), 3);
    goals.push({ goal: 'orderPaidBulk ≥ 15,000 events/s', measured: `${figures.order_paid_bulk_events_per_s} (bare addBulk ${figures.bare_add_bulk_jobs_per_s} jobs/s, ${figures.bare_add_bulk_with_validation_per_s}/s with our validation)`, met: b((x) => x.eventsPerSec) >= 15_000 });
    const top = (rec: Record<string, number>) => Object.entries(rec).sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
    notes.push(`orderPaidBulk, nothing consuming (${bulk[0]!.n} events, chunks of 1,000, median of ${bulk.length}): ${figures.order_paid_bulk_events_per_s} events/s vs bare addBulk ${figures.bare_add_bulk_jobs_per_s} jobs/s; `
      + `Redis ${round(median(bulk.map((x) => x.redisMsPerEvent)), 3)} vs ${round(median(bulk.map((x) => x.bareRedisMsPerEvent)), 3)} ms per event; `
      + `the enqueuing process ${round(median(bulk.map((x) => x.clientCpuMsPerEvent ?? Number.NaN)), 3)} vs ${round(median(bulk.map((x) => x.bareClientCpuMsPerEvent ?? Number.NaN)), 3)} ms CPU per event. `
      + `Commands per event, ours: ${top(bulk[0]!.commandsPerEvent)}; bare: ${top(bulk[0]!.bareCommandsPerEvent)}.`);
  }
  notes.unshift(
    `N = ${n} orders and ${rounds} round(s) per side; deliveries per order: ${workloads.map((w) => `${w} ${perOrder(w)}`).join(', ')}. Worker CPU adds up the side's own processes; Redis and the sandbox are shared, their CPU per delivery shows the work each side asks of them. "Redis main thread" is INFO cpu's used_cpu_*_main_thread (the thread that runs commands: the single-core ceiling).`,
    'Plot: ![deliveries/s and Redis ms per delivery, ours vs bare](throughput.svg)',
  );
  return {
    scenario: 'throughput',
    figures,
    goals,
    table: {
      head: ['workload', 'side', 'deliveries/order', 'deliveries/s (median)', 'orders fanned out/s', 'vendor requests', 'recipients/request',
        'worker CPU ms/delivery', 'Redis CPU ms/delivery', 'Redis main thread ms/delivery', 'Redis commands/delivery', 'sandbox CPU ms/delivery', 'peak RSS MiB (per process)', 'each round', 'ours / bare'],
      rows,
    },
    notes,
    sections: [commandTable(workloads, runs), ...(Object.keys(attribution).length ? [attributionTable(workloads, attribution)] : [])],
    runs: [...runs, ...bulk.map((b) => ({ bulk: b })), { attribution }],
  };
}
