import pino from 'pino';
import { loadConfig } from '../../src/config/env.js';
import { PendingMessages } from '../../src/vendors/twin24/correlation/pending.js';
import type { TickSummary } from '../../src/vendors/twin24/correlation/correlator.js';
import { createCorrelatorWorker } from '../../src/vendors/twin24/correlation/worker.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis } from '../../src/queues/connection.js';
import { enqueueEvents, startOurPipeline, waitFinished } from '../harness/pipeline.js';
import { sleep } from '../harness/processes.js';
import { round } from '../harness/stats.js';
import type { BenchContext, Scenario } from '../harness/types.js';
import { benchEvent, freshRun, UNLIMITED, workerEnv } from '../harness/workload.js';

/** Flags: --n (messages, default 1000), --tick-every (ms between ticks in the live case, default 250). */

type Lookup = 'window' | 'per-session';

interface CaseFigures {
  label: string;
  lookup: Lookup;
  messages: number;
  ticks: number;
  analyseCalls: number;
  authCalls: number;
  correlated: number;
  finalWithoutResult: number;
  callsPer100: number;
  seconds: number;
}

export const correlation: Scenario = {
  name: 'correlation',
  title: 'Correlation cost: Twin24 analyse API calls per 100 messages',
  method:
    'N Twin24 messages (default 1,000) are sent through producer → fan-out → workers/twin24.ts to the sandbox, whose '
    + 'timeline makes each message PENDING after 200 ms, final after 500 ms (phones ending in 0 UNDELIVERED, the rest '
    + 'DELIVERED) and gives a DELIVERED one its bot result 300 ms later. The correlator\'s own tick (src/correlation: '
    + 'createCorrelatorWorker(...).tickNow(), the function its job scheduler runs, TWIN24_STATS_PAGE_SIZE=500) then runs '
    + 'until no message is pending. Counted on the sandbox: every analyse request (statistics pages) and IAM call made '
    + 'by the ticks. Two cases: "settled" (the first tick starts after every message is final) and "live" (ticks every '
    + '250 ms from the moment the last message is sent, so messages are seen while still in flight), each in both '
    + 'session lookup modes (TWIN24_SESSION_LOOKUP=window: the window\'s sessions without chatId, per-session fallback; '
    + 'per-session: the seed\'s call with chatId = providerMessageId for every delivered message).',
  async run(ctx) {
    const n = ctx.opts.n ?? 1_000;
    const every = Number(ctx.opts['tick-every'] ?? 250);
    const cases: CaseFigures[] = [];
    for (const lookup of ['window', 'per-session'] as const) {
      cases.push(await correlate(ctx, n, 'settled', lookup, 1_500, 0), await correlate(ctx, n, 'live', lookup, 0, every));
    }
    for (const c of cases) ctx.log(`correlation ${c.label} (${c.lookup}): ${c.analyseCalls} analyse calls, ${c.ticks} ticks, ${c.callsPer100} per 100 messages`);
    const [settled, live, settledEach, liveEach] = cases as [CaseFigures, CaseFigures, CaseFigures, CaseFigures];
    const worstWindow = Math.max(settled.callsPer100, live.callsPer100);
    return {
      scenario: 'correlation',
      figures: {
        messages: n, settled_calls_per_100: settled.callsPer100, live_calls_per_100: live.callsPer100,
        settled_ticks: settled.ticks, live_ticks: live.ticks,
        per_session_settled_calls_per_100: settledEach.callsPer100, per_session_live_calls_per_100: liveEach.callsPer100,
      },
      goals: [
        { goal: 'window mode: ≤ 2 analyse calls per 100 messages', measured: `${settled.callsPer100} settled, ${live.callsPer100} live`, met: worstWindow <= 2 },
        { goal: 'per-session mode: analyse calls per 100 messages (reported)', measured: `${settledEach.callsPer100} settled, ${liveEach.callsPer100} live`, met: null },
      ],
      table: {
        head: ['case', 'lookup', 'messages', 'ticks', 'analyse calls', 'IAM calls', 'correlated (with result)', 'final without result', 'calls per 100 messages', 'seconds'],
        rows: cases.map((c) => [c.label, c.lookup, c.messages, c.ticks, c.analyseCalls, c.authCalls, c.correlated, c.finalWithoutResult, c.callsPer100, c.seconds]),
      },
      notes: [
        'A tick reads the message statistics of the windows covering the pending messages page by page, then the chat sessions of the delivered ones; its cost grows with pages (N / page size) and ticks, not with messages.',
        'In production a tick runs every TWIN24_POLL_EVERY (30 s) and Twin24 takes minutes to finish a message, so a message is usually seen by a few ticks: the live case (several ticks per message lifetime) is the closer picture.',
        'Window mode reads the sessions of the window without chatId and matches them by id (= providerMessageId), so its session cost is pages, like the messages. Per-session mode is the seed\'s call as printed: one call per delivered message and tick until its bot result is there, so a bot that answers after k ticks costs about k calls per message.',
      ],
      runs: cases,
    };
  },
};

async function correlate(ctx: BenchContext, n: number, label: string, lookup: Lookup, settleMs: number, everyMs: number): Promise<CaseFigures> {
  await ctx.redis.flush();
  await ctx.sandbox.reset();
  const run = freshRun('c');
  const p = await startOurPipeline(ctx, { vendor: 'twin24', prefix: run, env: { TWIN24_RATE_LIMIT: UNLIMITED } });
  try {
    await enqueueEvents(p.producer, Array.from({ length: n }, (_, i) => benchEvent(run, i)));
    const done = await waitFinished(p.deliveries, n);
    if (done.failed) throw new Error(`${done.failed} Twin24 deliveries failed (logs in ${ctx.logDir})`);
  } finally {
    await p.stop();
  }
  await sleep(settleMs);

  const config = loadConfig(workerEnv(ctx.redis.url, run, ctx.sandbox, { LOG_LEVEL: 'silent', TWIN24_STATS_PAGE_SIZE: '500', TWIN24_SESSION_LOOKUP: lookup }));
  const connection = createRedis(config.redis, 'worker');
  const records = new OrderRecords(connection, run, config.orderRetentionMs);
  const correlator = await createCorrelatorWorker({
    config, connection, records, metrics: new Metrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }), autorun: false,
  });
  const pending = new PendingMessages(connection, run);
  const before = (await ctx.sandbox.requests('twin24')).length;
  const t0 = Date.now();
  const summaries: TickSummary[] = [];
  try {
    if ((await pending.count()) !== n) throw new Error(`expected ${n} pending Twin24 messages, found ${await pending.count()}`);
    while ((await pending.count()) > 0) {
      if (summaries.length >= 200) throw new Error(`still ${await pending.count()} pending after 200 ticks`);
      const s = await correlator.tickNow();
      if (s !== 'skipped') summaries.push(s);
      if (everyMs) await sleep(everyMs);
    }
  } finally {
    await correlator.close(5_000);
    connection.disconnect();
  }
  const calls = (await ctx.sandbox.requests('twin24')).slice(before);
  const analyseCalls = calls.filter((r) => r.path.startsWith('/statistics/')).length;
  const correlated = summaries.reduce((a, s) => a + s.correlated, 0);
  const finalWithoutResult = summaries.reduce((a, s) => a + s.failed + s.timedOut, 0);
  if (correlated + finalWithoutResult !== n) throw new Error(`${correlated} + ${finalWithoutResult} final of ${n}`);
  return {
    label, lookup, messages: n, ticks: summaries.length, analyseCalls, authCalls: calls.filter((r) => r.path.startsWith('/auth/')).length,
    correlated, finalWithoutResult, callsPer100: round((100 * analyseCalls) / n, 2), seconds: round((Date.now() - t0) / 1000, 1),
  };
}
