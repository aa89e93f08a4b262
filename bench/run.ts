/**
 * `npm run bench` — every scenario, one JSON line each on stdout, then bench/RESULTS.md rewritten.
 * `npm run bench -- throughput --n 2000` — one scenario (any subset, by name) with options:
 *   --n <count>       the scenario's main count (events, backlog, messages)
 *   --rounds <k>      throughput: alternating rounds per vendor (default 3)
 *   --profile         worker processes write V8 CPU profiles to bench/profiles/<run>/
 *   --runtime tsx     run child processes from the TypeScript sources (default js: compiled first, like the image)
 *   --no-write        print only; leave RESULTS.md and results.json alone
 *   --render-only     rewrite RESULTS.md from results.json (e.g. after editing bench/PROFILE.md), run nothing
 *   --label <name>    keep this run's figures as baseline <name> (throughput, cluster); --before <name> compares with one
 *   --baseline-from-stored <name>   keep the stored latest result of the named scenarios as baseline <name>, run nothing
 * Scenario-specific flags are listed in each bench/scenarios/<name>.ts.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeMachine, machineBusyPct } from './harness/machine.js';
import { startBenchRedis } from './harness/redis.js';
import { prepareRuntime } from './harness/runtime.js';
import { baselineFromStored, renderOnly, saveRun, type RunInfo } from './harness/report.js';
import { startBenchSandbox } from './harness/sandbox.js';
import type { BenchOptions, Scenario, ScenarioResult } from './harness/types.js';
import { cluster } from './scenarios/cluster.js';
import { correlation } from './scenarios/correlation.js';
import { flashSale } from './scenarios/flash-sale.js';
import { footprint } from './scenarios/footprint.js';
import { latency } from './scenarios/latency.js';
import { outbox } from './scenarios/outbox.js';
import { rateLimit } from './scenarios/rate-limit.js';
import { throughput } from './scenarios/throughput.js';

const SCENARIOS: Scenario[] = [throughput, cluster, flashSale, rateLimit, latency, correlation, footprint, outbox];

function parseCli(argv: string[]): { names: string[]; opts: BenchOptions } {
  const names: string[] = [];
  const opts: BenchOptions = { profile: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      names.push(arg);
      continue;
    }
    const key = arg.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) {
      opts[key.replace(/^no-/, '')] = !key.startsWith('no-');
      continue;
    }
    opts[key] = /^\d+(\.\d+)?$/.test(next) ? Number(next) : next;
    i++;
  }
  return { names, opts };
}

async function main(): Promise<number> {
  const { names, opts } = parseCli(process.argv.slice(2));
  const unknown = names.filter((n) => !SCENARIOS.some((s) => s.name === n));
  if (unknown.length) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.name).join(', ')})\n`);
    return 2;
  }
  if (opts['render-only']) {
    renderOnly(SCENARIOS);
    return 0;
  }
  if (opts['baseline-from-stored'] !== undefined) {
    const label = String(opts['baseline-from-stored']);
    const done = baselineFromStored(SCENARIOS, label, names);
    process.stderr.write(`baseline "${label}" kept from the stored result of: ${done.join(', ') || 'nothing (no stored result of a scenario that keeps baselines)'}\n`);
    return done.length ? 0 : 1;
  }
  const chosen = names.length ? SCENARIOS.filter((s) => names.includes(s.name)) : SCENARIOS;
  const id = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const started = Date.now();
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);

  const busyBefore = await machineBusyPct();
  const runtime = prepareRuntime(opts.runtime === undefined ? undefined : String(opts.runtime), log);
  const redis = await startBenchRedis();
  const sandbox = await startBenchSandbox(runtime);
  const logDir = mkdtempSync(join(tmpdir(), `order-notify-bench-${id}-`));
  const profileDir = opts.profile ? join('bench', 'profiles', id) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const machine = { ...(await describeMachine(redis.version)), busyBeforePct: busyBefore };
  log(`redis ${redis.url}, sandbox ${sandbox.url}, child logs in ${logDir}${profileDir ? `, profiles in ${profileDir}` : ''}`);

  const results: ScenarioResult[] = [];
  let failures = 0;
  try {
    for (const scenario of chosen) {
      log(`${scenario.name}: starting`);
      try {
        const result = await scenario.run({ redis, sandbox, runtime, logDir, profileDir, opts, log });
        results.push(result);
        process.stdout.write(`${JSON.stringify({ scenario: result.scenario, ...result.figures, goals: result.goals })}\n`);
      } catch (e) {
        failures++;
        process.stdout.write(`${JSON.stringify({ scenario: scenario.name, error: e instanceof Error ? e.message : String(e) })}\n`);
        log(`${scenario.name} failed: ${e instanceof Error ? e.stack : String(e)}`);
      }
    }
  } finally {
    await sandbox.stop();
    await redis.stop();
  }
  const run: RunInfo = {
    id, startedAt: new Date(started).toISOString(), command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine, busyAfterPct: await machineBusyPct(), seconds: (Date.now() - started) / 1000,
  };
  if (opts.write !== false && results.length) {
    saveRun(run, results, SCENARIOS);
    log('bench/RESULTS.md rewritten');
  }
  return failures ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
