import { median, round } from '../harness/stats.js';
import { SCRIPT_COMMANDS } from '../harness/redis-work.js';
import type { Section } from '../harness/types.js';
import type { RunFigures, Side, Workload } from './throughput-run.js';

type Attribution = Record<string, Record<Side, { client: Record<string, number>; inScripts: Record<string, number> }>>;

const md = (head: string[], rows: Array<Array<string | number>>) => [
  `| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`),
];

/**
 * INFO commandstats per delivery, median over the rounds: calls and Redis µs by command, ours next to bare, the
 * costliest first. Script calls (evalsha) include the time of the commands they run, which also appear on their own
 * rows (marked "in scripts too"), so the µs column is not to be added up.
 */
export function commandTable(workloads: Workload[], runs: RunFigures[], top = 14): Section {
  const lines: string[] = [];
  for (const w of workloads) {
    const of = (side: Side) => runs.filter((r) => r.workload === w && r.side === side);
    const stat = (side: Side, cmd: string, k: 'calls' | 'usec') => median(of(side).map((r) => r.redisCommands[cmd]?.[k] ?? 0));
    const names = [...new Set(runs.filter((r) => r.workload === w).flatMap((r) => Object.keys(r.redisCommands)))];
    names.sort((a, b) => stat('ours', b, 'usec') - stat('ours', a, 'usec'));
    const rows = names.slice(0, top).map((c) => [
      SCRIPT_COMMANDS.has(c) ? `**${c}** (script calls)` : c,
      round(stat('ours', c, 'calls'), 2), round(stat('bare', c, 'calls'), 2),
      round(stat('ours', c, 'usec'), 1), round(stat('bare', c, 'usec'), 1),
    ]);
    const scripts = (side: Side) => round([...SCRIPT_COMMANDS].reduce((a, c) => a + stat(side, c, 'calls'), 0), 2);
    lines.push(`**${w}** (script calls per delivery: ours ${scripts('ours')}, bare ${scripts('bare')}; ${Math.max(0, names.length - top)} rarer commands left out)`, '',
      ...md(['command', 'ours calls/delivery', 'bare calls/delivery', 'ours µs/delivery', 'bare µs/delivery'], rows), '');
  }
  return {
    title: 'Redis commands per delivery (INFO commandstats)',
    lines: [
      'Difference of INFO commandstats over each timed run, divided by the deliveries, median of the rounds. Commands a Lua '
      + 'script runs are counted on their own rows as well as inside the script call\'s µs. The harness polls job counts '
      + 'every 25 ms (one evalsha each) in both sides alike.', '', ...lines,
    ],
  };
}

/** Calls per delivery by name from the MONITOR run: what clients sent (BullMQ scripts by name) and what scripts ran. */
export function attributionTable(workloads: Workload[], attribution: Attribution, top = 12): Section {
  const lines: string[] = [];
  for (const w of workloads) {
    const a = attribution[w];
    if (!a) continue;
    const table = (kind: 'client' | 'inScripts') => {
      const names = [...new Set([...Object.keys(a.ours[kind]), ...Object.keys(a.bare[kind])])];
      names.sort((x, y) => (a.ours[kind][y] ?? 0) - (a.ours[kind][x] ?? 0));
      const total = (side: Side) => round(Object.values(a[side][kind]).reduce((s, v) => s + v, 0), 2);
      return [...md([kind === 'client' ? 'sent by clients' : 'run inside scripts', 'ours per delivery', 'bare per delivery'], [
        ...names.slice(0, top).map((k) => [k, a.ours[kind][k] ?? 0, a.bare[kind][k] ?? 0]),
        ['**total**', total('ours'), total('bare')],
      ]), ''];
    };
    lines.push(`**${w}**`, '', ...table('client'), ...table('inScripts'));
  }
  return {
    title: 'Redis calls per delivery by name (MONITOR)',
    lines: [
      'A separate small run per workload and side with MONITOR on (never during the timed runs: MONITOR costs Redis CPU). '
      + 'EVALSHA is named by its script: BullMQ\'s by name (sha1 of its script text), ours as "script <sha> on <first key shape>". '
      + 'The harness\'s own job-count polling (bullmq:getCounts) is left out.', '', ...lines,
    ],
  };
}
