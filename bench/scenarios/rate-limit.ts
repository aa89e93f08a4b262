import { addVendorProcesses, enqueueEvents, startOurPipeline, waitFinished } from '../harness/pipeline.js';
import { percentile, round } from '../harness/stats.js';
import type { Scenario } from '../harness/types.js';
import { benchEvent, freshRun } from '../harness/workload.js';
import { checkDelivered } from './verify.js';
import { rateLimitGuardMs } from '../../src/delivery/rate-limiter.js';

/** Flags: --n (backlog, default 1000), --limit (R requests/s, default 20), --procs (worker processes, default 3). */

/** The limiter's spacing guard (src/delivery/rate-limiter.ts): min(50 ms, 5 % of the window) per window. */
const GUARD_MS = rateLimitGuardMs;

export const rateLimit: Scenario = {
  name: 'rate-limit',
  title: 'Rate-limit fidelity: one limit shared by 3 worker processes',
  method:
    'A backlog of 1,000 Metabot deliveries (non-batching: requests = deliveries) is built through producer → fan-out; '
    + 'then 3 workers/metabot.ts processes start together with METABOT_RATE_LIMIT=20/1s and drain it. The sandbox '
    + 'enforces the same 20 requests per sliding second (an excess request is answered 429 and counted). Measured on '
    + 'the sandbox\'s arrival times: the most requests in any 1 s window, utilisation = arrival rate between the first and '
    + 'the last request ÷ R, and the tightest span of R+1 consecutive requests (how close the spacing came to putting '
    + 'R+1 requests in one second: the margin the limiter\'s guard must cover).',
  async run(ctx) {
    const n = ctx.opts.n ?? 1_000;
    const limit = Number(ctx.opts.limit ?? 20);
    const procs = Number(ctx.opts.procs ?? 3);
    await ctx.redis.flush();
    await ctx.sandbox.reset();
    await ctx.sandbox.setFaults('metabot', { rateLimit: { max: limit, durationMs: 1_000 } });
    const run = freshRun('r');
    const env = { METABOT_RATE_LIMIT: `${limit}/1s` };
    const p = await startOurPipeline(ctx, { vendor: 'metabot', prefix: run, vendorProcesses: 0, env });
    let times: number[];
    let rejected: number;
    let statuses: number[];
    try {
      await enqueueEvents(p.producer, Array.from({ length: n }, (_, i) => benchEvent(run, i)));
      await waitFinished(p.orders, n);
      await addVendorProcesses(ctx, p, 'metabot', procs, env);
      const done = await waitFinished(p.deliveries, n);
      if (done.failed) throw new Error(`${done.failed} deliveries failed (logs in ${ctx.logDir})`);
      await checkDelivered(ctx.sandbox, 'metabot', n);
      const requests = await ctx.sandbox.requests('metabot');
      times = requests.map((r) => r.at);
      rejected = requests.filter((r) => r.status === 429).length;
      statuses = requests.map((r) => r.status);
    } finally {
      await p.stop();
      await ctx.sandbox.setFaults('metabot', {});
    }
    const maxIn1s = maxInWindow(times, 1_000);
    const spanS = (times.at(-1)! - times[0]!) / 1000;
    const rate = (times.length - 1) / spanS;
    const utilisation = rate / limit;
    const spacingCap = 1000 / (1000 + GUARD_MS(1000));
    // Span of limit+1 consecutive arrivals: below 1000 ms would mean limit+1 requests inside one second.
    const spans = times.slice(limit).map((t, i) => t - times[i]!);
    const tightest = Math.min(...spans);
    const tightestAtS = round((times[spans.indexOf(tightest)]! - times[0]!) / 1000, 2);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    const ideal = (1000 + GUARD_MS(1000)) / limit;
    const lateness = gaps.map((g) => Math.abs(g - ideal));
    ctx.log(`rate-limit: max ${maxIn1s} in 1 s, utilisation ${round(utilisation * 100, 2)} %, tightest ${limit + 1}-span ${tightest} ms`);
    const slackMs = tightest - 1000;
    return {
      scenario: 'rate-limit',
      figures: {
        limit_per_s: limit, processes: procs, backlog: n, requests: times.length, rejected_429: rejected,
        max_requests_in_1s: maxIn1s, utilisation_pct: round(utilisation * 100, 2), spacing_cap_pct: round(spacingCap * 100, 2),
        tightest_span_ms: tightest, tightest_span_at_s: tightestAtS, gap_jitter_p50_ms: round(percentile(lateness, 50), 1), gap_jitter_p99_ms: round(percentile(lateness, 99), 1),
      },
      goals: [
        { goal: `never above R = ${limit} in any 1 s`, measured: `max ${maxIn1s}, ${rejected} answered 429`, met: maxIn1s <= limit && rejected === 0 },
        { goal: 'utilisation ≥ 90 % of R', measured: `${round(utilisation * 100, 2)} % (${round(rate, 2)} requests/s)`, met: utilisation >= 0.9 },
      ],
      table: {
        head: ['R', 'processes', 'requests', 'max in any 1 s', '429s', 'requests/s', 'utilisation', 'spacing cap', `tightest ${limit + 1}-request span`, 'gap jitter p50 / p99'],
        rows: [[limit, procs, times.length, maxIn1s, rejected, round(rate, 2), `${round(utilisation * 100, 2)} %`, `${round(spacingCap * 100, 2)} %`,
          `${tightest} ms`, `${round(percentile(lateness, 50), 1)} / ${round(percentile(lateness, 99), 1)} ms`]],
      },
      notes: [
        `The limiter spaces requests (1000 + ${GUARD_MS(1000)}) / ${limit} = ${round(ideal, 2)} ms apart, so utilisation cannot exceed ${round(spacingCap * 100, 2)} %`
          + (utilisation >= spacingCap - 0.005
            ? ': that guard, not lost slots, is what separates the figure from 100 %.'
            : `; the run reached ${round(utilisation * 100, 2)} %, so slots were also lost (waiters that woke up too late give theirs up; a 429 pauses everyone).`),
        `The tightest span of ${limit + 1} consecutive requests was ${tightest} ms, ${tightestAtS} s after the first request (${slackMs} ms from putting ${limit + 1} requests in one second); gap jitter = |gap − ${round(ideal, 1)} ms| between consecutive arrivals.`,
      ],
      runs: [{ arrivalsMs: times.map((t) => t - times[0]!), statuses: statuses }],
    };
  },
};

function maxInWindow(sorted: number[], windowMs: number): number {
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
