import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Baseline } from './baselines.js';
import type { MachineInfo } from './machine.js';
import type { Scenario, ScenarioResult } from './types.js';

/**
 * results.json keeps the latest result of every scenario with the run it came from; RESULTS.md is rendered from it
 * (a single-scenario run replaces that scenario's section only, and the section says which run it came from).
 */
export interface RunInfo {
  id: string;
  startedAt: string;
  command: string;
  machine: MachineInfo;
  /** Busy share of the machine right after the run (same measure as before). */
  busyAfterPct?: number;
  seconds?: number;
}

export interface StoredResult { run: string; result: ScenarioResult }
interface Store {
  runs: Record<string, RunInfo>;
  results: Record<string, StoredResult>;
  /** Labelled figures runs are compared with: baselines[scenario][label] (see baselines.ts). */
  baselines?: Record<string, Record<string, Baseline>>;
}

const STORE = 'bench/results.json';
const RESULTS = 'bench/RESULTS.md';
/** Hand-written analysis appended after the generated sections (kept true by whoever re-runs the bench). */
const NOTES = ['bench/REDIS-WORK.md', 'bench/PROFILE.md'];

export function loadStore(): Store {
  if (!existsSync(STORE)) return { runs: {}, results: {} };
  return JSON.parse(readFileSync(STORE, 'utf8')) as Store;
}

export function saveRun(run: RunInfo, results: ScenarioResult[], scenarios: Scenario[]): void {
  const store = loadStore();
  store.runs[run.id] = run;
  for (const { baseline, ...result } of results) {
    store.results[result.scenario] = { run: run.id, result };
    if (baseline) ((store.baselines ??= {})[result.scenario] ??= {})[baseline.label] = { run: run.id, savedAt: run.startedAt, command: run.command, profile: baseline.profile };
  }
  writeStore(store, scenarios);
}

function writeStore(store: Store, scenarios: Scenario[]): void {
  // Forget runs no section or baseline refers to any more.
  const used = new Set([...Object.values(store.results).map((r) => r.run), ...Object.values(store.baselines ?? {}).flatMap((b) => Object.values(b).map((x) => x.run))]);
  for (const id of Object.keys(store.runs)) if (!used.has(id)) delete store.runs[id];
  writeFileSync(STORE, `${JSON.stringify(store, null, 2)}\n`);
  writeFileSync(RESULTS, render(store, scenarios));
}

/** Re-renders RESULTS.md from results.json (after editing the notes files or a scenario's text), running nothing. */
export function renderOnly(scenarios: Scenario[]): void {
  writeFileSync(RESULTS, render(loadStore(), scenarios));
}

/** The stored figures of one labelled baseline, if any. */
export function loadBaseline<P>(scenario: string, label: string): Baseline<P> | undefined {
  return loadStore().baselines?.[scenario]?.[label] as Baseline<P> | undefined;
}

/**
 * Keeps the stored (latest) result of each scenario that can make one as the baseline `label`, running nothing
 * (e.g. `--baseline-from-stored before` right before a change lands). Returns the scenarios labelled.
 */
export function baselineFromStored(scenarios: Scenario[], label: string, only: string[] = []): string[] {
  const store = loadStore();
  const done: string[] = [];
  for (const s of scenarios.filter((x) => !only.length || only.includes(x.name))) {
    const stored = store.results[s.name];
    if (!stored || !s.baselineOf) continue;
    const run = store.runs[stored.run];
    ((store.baselines ??= {})[s.name] ??= {})[label] = { run: stored.run, savedAt: run?.startedAt ?? '', command: run?.command, profile: s.baselineOf(stored.result) };
    done.push(s.name);
  }
  writeStore(store, scenarios);
  return done;
}

function table(t: ScenarioResult['table']): string {
  const line = (cells: Array<string | number>) => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(t.head), line(t.head.map(() => '---')), ...t.rows.map(line)].join('\n');
}

function machineLine(run: RunInfo): string {
  const m = run.machine;
  return `${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB RAM, ${m.os}, Node ${m.node}, Redis ${m.redis}`;
}

function idleLine(run: RunInfo): string {
  const after = run.busyAfterPct === undefined ? '' : `, ${run.busyAfterPct} % right after`;
  const verdict = run.machine.busyBeforePct <= 10 ? 'otherwise idle' : 'NOT idle: other work was running';
  return `machine ${verdict} (all cores ${run.machine.busyBeforePct} % busy just before the run${after}; load average ${run.machine.loadAvgBefore})`;
}

function render(store: Store, scenarios: Scenario[]): string {
  const runs = [...new Set(Object.values(store.results).map((r) => r.run))].map((id) => store.runs[id]!).filter(Boolean);
  const out: string[] = [
    '# Benchmark results',
    '',
    'Written by `npm run bench` (how to run it: docs/benchmarks.md). Every figure below comes from',
    'the run named in its section; the raw numbers of each run are in `bench/results.json`.',
    '',
    '## Runs',
    '',
    ...runs.map((r) => `- **${r.id}** (${r.startedAt}, \`${r.command}\`${r.seconds ? `, ${Math.round(r.seconds)} s` : ''}): ${machineLine(r)}; ${idleLine(r)}.`),
    '',
    '## Goals',
    '',
    '| scenario | goal | measured | met |',
    '| --- | --- | --- | --- |',
  ];
  for (const s of scenarios) {
    const stored = store.results[s.name];
    if (!stored) continue;
    for (const g of stored.result.goals) out.push(`| ${s.name} | ${g.goal} | ${g.measured} | ${g.met === null ? 'n/a' : g.met ? 'yes' : '**no**'} |`);
  }
  for (const s of scenarios) {
    const stored = store.results[s.name];
    out.push('', `## ${s.title}`, '');
    if (!stored) {
      out.push('_Not run yet._');
      continue;
    }
    out.push(`Run ${stored.run}. ${s.method}`, '', table(stored.result.table), '');
    for (const note of stored.result.notes) out.push(`- ${note}`);
    for (const section of stored.result.sections ?? []) out.push('', `### ${section.title}`, '', ...section.lines);
  }
  for (const notes of NOTES) if (existsSync(notes)) out.push('', readFileSync(notes, 'utf8').trim());
  return `${out.join('\n')}\n`;
}
