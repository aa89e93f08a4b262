import { round } from './stats.js';
import { SCRIPT_COMMANDS } from './redis-work.js';

/**
 * Labelled figures kept in bench/results.json beside the latest results (`baselines[scenario][label]`), so a later run
 * can print what changed against them: `--label <name>` stores a run's figures, `--before <name>` (default "before")
 * picks what a run is compared with. The latest result of a scenario is replaced by every run; a baseline stays until
 * it is overwritten under the same label.
 */
export interface Baseline<P = unknown> {
  run: string;
  savedAt: string;
  command?: string;
  profile: P;
}

/** What one delivery costs, by name: the unit the before/after tables compare. */
export interface DeliveryProfile {
  deliveriesPerSec: number;
  /** Redis process CPU per delivery (/proc: every thread). */
  redisCpuMsPerDelivery: number;
  /** INFO cpu main thread (the one running commands) per delivery. */
  redisMainThreadMsPerDelivery?: number;
  /** The side's own worker processes, per delivery. */
  workerCpuMsPerDelivery?: number;
  /** INFO commandstats per delivery: calls and µs by command. */
  commands: Record<string, { calls: number; usec: number }>;
}

const md = (head: string[], rows: Array<Array<string | number>>) => [
  `| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`),
];

const fmt = (v: number | undefined, digits: number) => (v === undefined || !Number.isFinite(v) ? '—' : round(v, digits));

function change(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined || !Number.isFinite(before) || !Number.isFinite(after)) return '—';
  if (before === 0) return after === 0 ? '=' : 'new';
  const pct = ((after - before) / before) * 100;
  return `${pct > 0 ? '+' : ''}${Math.round(pct)} %`;
}

export function scriptCalls(p: DeliveryProfile): number {
  return [...SCRIPT_COMMANDS].reduce((a, c) => a + (p.commands[c]?.calls ?? 0), 0);
}
export function allCalls(p: DeliveryProfile): number {
  return Object.values(p.commands).reduce((a, c) => a + c.calls, 0);
}

/**
 * The before/after table of one workload: the totals first (deliveries/s, CPU and calls per delivery), then every
 * command by name, the costliest (before or after) first. Script calls (evalsha) include the µs of the commands they
 * run, which are also counted on their own rows: the µs column is for ranking, the CPU rows for totals.
 */
export function beforeAfterTable(before: DeliveryProfile, after: DeliveryProfile, top = 18): string[] {
  const totals: Array<[string, number | undefined, number | undefined, number]> = [
    ['deliveries/s', before.deliveriesPerSec, after.deliveriesPerSec, 0],
    ['Redis CPU ms/delivery (process)', before.redisCpuMsPerDelivery, after.redisCpuMsPerDelivery, 3],
    ['Redis main thread ms/delivery', before.redisMainThreadMsPerDelivery, after.redisMainThreadMsPerDelivery, 3],
    ['worker CPU ms/delivery', before.workerCpuMsPerDelivery, after.workerCpuMsPerDelivery, 3],
    ['script calls/delivery', scriptCalls(before), scriptCalls(after), 2],
    ['commands/delivery (in scripts too)', allCalls(before), allCalls(after), 1],
  ];
  const names = [...new Set([...Object.keys(before.commands), ...Object.keys(after.commands)])];
  const cost = (n: string) => Math.max(before.commands[n]?.usec ?? 0, after.commands[n]?.usec ?? 0);
  names.sort((a, b) => cost(b) - cost(a));
  const rows: Array<Array<string | number>> = totals.map(([name, b, a, d]) => [`**${name}**`, fmt(b, d), fmt(a, d), change(b, a), '', '']);
  for (const n of names.slice(0, top)) {
    const b = before.commands[n];
    const a = after.commands[n];
    rows.push([SCRIPT_COMMANDS.has(n) ? `${n} (script calls)` : n, fmt(b?.calls ?? 0, 2), fmt(a?.calls ?? 0, 2), change(b?.calls ?? 0, a?.calls ?? 0), fmt(b?.usec ?? 0, 1), fmt(a?.usec ?? 0, 1)]);
  }
  const left = names.length - Math.min(top, names.length);
  return [
    ...md(['per delivery', 'before', 'after', 'change', 'before µs', 'after µs'], rows),
    ...(left > 0 ? ['', `${left} rarer commands left out.`] : []),
  ];
}

/** Plain-text rendering of a markdown table for the console (the bench log). */
export function consoleTable(lines: string[]): string {
  return lines.filter((l) => !/^\| (---( \| )?)+/.test(l)).map((l) => l.replace(/\*\*/g, '')).join('\n');
}
