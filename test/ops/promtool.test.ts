import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { repoPath } from '../deploy/support.js';
import { parseExposition } from './fixtures/exposition.js';
import { EXTERNAL_METRICS, exportedNames, metricNamesIn, monitoringQueries } from './fixtures/promql-names.js';

/**
 * The monitoring files against a live process: a real fan-out worker (its own node process) serves /metrics on
 * METRICS_PORT; `promtool check metrics` reads that text, `promtool check rules` / `test rules` the alert rules,
 * and every metric the Grafana dashboard and the rules query must be one the process exports.
 * promtool comes from Debian's prometheus package: .ci/run installs it, so under CI a missing promtool fails.
 */
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const havePromtool = !promtool.error;
if (!havePromtool && !process.env.CI) console.info('promtool not on PATH (apt-get install prometheus): the promtool checks are skipped here; CI runs them');

function runPromtool(args: string[], input?: string) {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', cwd: repoPath() });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('monitoring: promtool, the Grafana dashboard and the alert rules against a live /metrics', () => {
  let redis: TestRedis;
  let worker: ChildWorker;
  let exposition: string;

  beforeAll(async () => {
    redis = await startRedis();
    worker = await startChildWorker('workers/fanout.ts', { REDIS_URL: redis.url, QUEUE_PREFIX: 'promtool-test', SHUTDOWN_TIMEOUT: '2s' });
    const res = await fetch(`${worker.url}/metrics`);
    expect(res.status).toBe(200);
    exposition = await res.text();
  }, 60_000);
  afterAll(async () => {
    await worker?.kill();
    await redis?.stop();
  });

  it('CI has promtool', () => {
    if (process.env.CI) expect(havePromtool, 'promtool must be installed in CI (.ci/run installs Debian\'s prometheus package)').toBe(true);
  });

  it.runIf(havePromtool || process.env.CI)('promtool check metrics accepts the live /metrics', () => {
    const r = runPromtool(['check', 'metrics'], exposition);
    expect(r.status, r.output).toBe(0);
    expect(r.output.trim()).toBe('');
  });

  it.runIf(havePromtool || process.env.CI)('promtool checks the alert rules and their unit tests pass', () => {
    const check = runPromtool(['check', 'rules', 'deploy/prometheus/alerts.yaml']);
    expect(check.status, check.output).toBe(0);
    const test = runPromtool(['test', 'rules', 'deploy/prometheus/alerts.test.yaml']);
    expect(test.status, test.output).toBe(0);
    expect(test.output).toContain('SUCCESS');
  });

  it('every metric the dashboard and the alert rules use is exported (external exporters listed)', () => {
    const exported = exportedNames(parseExposition(exposition));
    const queries = monitoringQueries();
    expect(queries.dashboard.length).toBeGreaterThanOrEqual(15);
    expect(queries.rules.length).toBeGreaterThanOrEqual(5);
    const used = new Set([...queries.dashboard, ...queries.rules].flatMap((q) => metricNamesIn(q.expr).map((name) => `${name} (${q.where})`)));
    expect(used.size).toBeGreaterThan(15);
    const missing = [...used].filter((u) => {
      const name = u.split(' ')[0]!;
      return !exported.has(name) && !EXTERNAL_METRICS.has(name);
    });
    expect(missing).toEqual([]);
    // The new gauges are there with values, not only declared.
    for (const name of ['order_notify_queue_oldest_waiting_age_seconds', 'order_notify_vendor_paused_seconds', 'order_notify_correlation_oldest_pending_age_seconds']) {
      expect(exposition, name).toMatch(new RegExp(`^${name}(\\{[^}]*\\})? 0$`, 'm'));
    }
  });
});

describe('the PromQL metric-name reader', () => {
  it('finds metric names and leaves out functions, keywords, labels, label values and Grafana variables', () => {
    const expr = 'histogram_quantile(0.99, sum by (vendor, le) (rate(order_notify_vendor_request_duration_seconds_bucket{status!~"4.."}[$__rate_interval])))'
      + ' / on (vendor) group_left max without (instance) (redis_memory_max_bytes > 0) and ignoring(x) up offset 5m';
    expect(metricNamesIn(expr).sort()).toEqual(['order_notify_vendor_request_duration_seconds_bucket', 'redis_memory_max_bytes', 'up']);
  });

  it('flags a name the process does not export', () => {
    const exported = exportedNames(parseExposition('# HELP h x\n# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'));
    expect([...exported].sort()).toEqual(['h', 'h_bucket', 'h_count', 'h_sum']);
    expect(metricNamesIn('rate(h_total[5m])').filter((n) => !exported.has(n))).toEqual(['h_total']);
  });
});
