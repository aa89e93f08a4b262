import { beforeAfterTable, consoleTable, type Baseline, type DeliveryProfile } from '../harness/baselines.js';
import { median } from '../harness/stats.js';
import type { Section } from '../harness/types.js';
import type { RunFigures, Side, Workload } from './throughput-run.js';

/** What a throughput run keeps as a baseline: per workload and side, the median cost of one delivery by name. */
export interface ThroughputProfile {
  n: number;
  workloads: Partial<Record<Workload, Partial<Record<Side, DeliveryProfile>>>>;
}

const isRun = (r: unknown): r is RunFigures => typeof r === 'object' && r !== null && 'side' in r && 'redisCommands' in r;

/** Medians over the rounds (each command's calls and µs on their own) of the timed runs among `runs`. */
export function throughputProfile(runs: readonly unknown[], n: number): ThroughputProfile {
  const timed = runs.filter(isRun);
  const out: ThroughputProfile = { n, workloads: {} };
  for (const r of timed) {
    const list = timed.filter((x) => x.workload === r.workload && x.side === r.side);
    const med = (pick: (x: RunFigures) => number | undefined) => median(list.map(pick).filter((v): v is number => v !== undefined));
    const names = [...new Set(list.flatMap((x) => Object.keys(x.redisCommands)))];
    (out.workloads[r.workload] ??= {})[r.side] = {
      deliveriesPerSec: Math.round(med((x) => x.deliveriesPerSec)),
      redisCpuMsPerDelivery: med((x) => x.redisCpuMsPerDelivery),
      redisMainThreadMsPerDelivery: med((x) => x.redisMainThreadMsPerDelivery),
      workerCpuMsPerDelivery: med((x) => x.cpuMsPerDelivery),
      commands: Object.fromEntries(names.map((c) => [c, {
        calls: med((x) => x.redisCommands[c]?.calls ?? 0), usec: med((x) => x.redisCommands[c]?.usec ?? 0),
      }])),
    };
  }
  return out;
}

/** RESULTS.md section (and console text): this run's cost per delivery by name next to a stored baseline's, ours side. */
export function beforeAfterSection(label: string, before: Baseline<ThroughputProfile> | undefined, after: ThroughputProfile): Section {
  const title = `Before / after: Redis work per delivery against baseline "${label}"`;
  if (!before) {
    return { title, lines: [`No baseline "${label}" in bench/results.json yet: store one with \`--label ${label}\` on a run (or \`--baseline-from-stored ${label}\`).`] };
  }
  const lines = [
    `Before = baseline "${label}" (run ${before.run}, \`${before.command ?? '?'}\`, N = ${before.profile.n}); after = this run (N = ${after.n}). `
    + 'Medians of the rounds, order-notify side; bare BullMQ + axios on the same run shown in the line under each table. '
    + 'Rates depend on how busy the machine was; calls and CPU per delivery are the figures to compare.', '',
  ];
  for (const [w, sides] of Object.entries(after.workloads) as Array<[Workload, Partial<Record<Side, DeliveryProfile>>]>) {
    const b = before.profile.workloads[w]?.ours;
    const a = sides.ours;
    if (!a) continue;
    if (!b) {
      lines.push(`**${w}**: not in the baseline.`, '');
      continue;
    }
    const bare = (p?: DeliveryProfile) => (p ? `${p.redisCpuMsPerDelivery} ms Redis CPU, ${p.deliveriesPerSec} deliveries/s` : '—');
    lines.push(`**${w}**`, '', ...beforeAfterTable(b, a), '',
      `Bare on the same runs: before ${bare(before.profile.workloads[w]?.bare)}; after ${bare(sides.bare)}.`, '');
  }
  return { title, lines };
}

export const beforeAfterConsole = (s: Section) => `${s.title}\n${consoleTable(s.lines)}`;
