import type { BenchRedis } from './redis.js';
import type { Runtime } from './runtime.js';
import type { BenchSandbox } from './sandbox.js';

/** Command-line options; each scenario reads the ones it knows (`--n` is each scenario's main count). */
export interface BenchOptions {
  n?: number;
  rounds?: number;
  profile: boolean;
  [flag: string]: string | number | boolean | undefined;
}

export interface BenchContext {
  redis: BenchRedis;
  sandbox: BenchSandbox;
  /** How child processes run (compiled JS by default). */
  runtime: Runtime;
  /** Child process logs (one file per process and run). */
  logDir: string;
  /** Set with --profile: worker processes write V8 CPU profiles here. */
  profileDir?: string;
  opts: BenchOptions;
  /** Progress to stderr (stdout carries only the JSON result lines). */
  log(message: string): void;
}

export interface Goal {
  goal: string;
  measured: string;
  /** null = not measurable in this run (said why in the notes). */
  met: boolean | null;
}

export interface ScenarioResult {
  scenario: string;
  /** Headline figures: the JSON line printed for this scenario. */
  figures: Record<string, number | string | boolean | null>;
  goals: Goal[];
  /** The RESULTS.md table. */
  table: { head: string[]; rows: Array<Array<string | number>> };
  notes: string[];
  /** Further markdown sections of RESULTS.md (e.g. per-command tables), after the notes. */
  sections?: Section[];
  /** Per-run details, kept in results.json only. */
  runs?: unknown[];
  /** Set by `--label <name>`: this run's figures, kept in results.json as baselines[scenario][name] (see baselines.ts). */
  baseline?: { label: string; profile: unknown };
}

export interface Section {
  title: string;
  /** Markdown lines. */
  lines: string[];
}

export interface Scenario {
  name: string;
  title: string;
  /** One paragraph for RESULTS.md and docs/benchmarks.md: what is measured and how. */
  method: string;
  run(ctx: BenchContext): Promise<ScenarioResult>;
  /** The figures a baseline keeps, from a stored result (for `--baseline-from-stored <label>`). */
  baselineOf?(result: ScenarioResult): unknown;
}
