import { PermanentVendorError } from '../../../delivery/errors.js';
import type { PagingStats, SessionStat } from './analyse-client.js';
import type { CorrelatorDeps, FailureLog, RecordWriter, TickSummary } from './correlator.js';
import type { PendingEntry } from './pending.js';
import { isResultPresent } from './status.js';
import { coveringSpans, type TimeWindow } from './windows.js';

/**
 * Step 3 of the seed's recipe: the chat session a delivered message started (its providerMessageId) → that
 * session's dialogResultsFromBotJson. Two strategies (TWIN24_SESSION_LOOKUP):
 * - `window` (default): every session started in the windows covering the awaiting messages, read WITHOUT a chatId
 *   filter and matched by item `id` = providerMessageId. A message whose session no window returned (or every
 *   message, when the server refuses a query without chatId) then gets the seed's own per-session call.
 * - `per-session`: the seed's call as printed, `chatId=<providerMessageId>`, once per awaiting message and tick.
 */

/** Survives between ticks of one correlator: a refused query without chatId is not asked again for a while. */
export interface SessionLookupMemory {
  windowRefusedUntil?: number;
}

/** After a refusal, how long the window query is skipped before it is tried again (the server may change). */
export const WINDOW_REFUSAL_MEMORY_MS = 3_600_000;
/** Per-session calls in flight at once (each is one small request). */
const PER_SESSION_CONCURRENCY = 4;

interface LookupContext {
  write: RecordWriter;
  failures: FailureLog;
  paging: PagingStats;
  summary: TickSummary;
  pad: number;
}

export async function lookUpSessions(deps: CorrelatorDeps, awaiting: PendingEntry[], ctx: LookupContext): Promise<void> {
  const { settings, logger } = deps;
  const now = (deps.now ?? Date.now)();
  const memory = deps.lookupMemory ?? {};
  const perSession = settings.sessionLookup === 'per-session' || (memory.windowRefusedUntil ?? 0) > now;
  if (perSession) {
    await lookUpEach(deps, awaiting, ctx);
    return;
  }

  const bySession = new Map(awaiting.map((e) => [e.progress.sessionId!, e]));
  const seen = new Set<string>();
  const spans = awaiting.map((e) => spanOf(e, ctx.pad));
  let refused: PermanentVendorError | undefined;
  for (const window of coveringSpans(spans, settings.correlateWindowMs)) {
    if (refused) break;
    ctx.summary.sessionWindows++;
    await ctx.failures.guard(async () => {
      try {
        await deps.client.sessions(window, undefined, (sessions) => apply(deps, ctx, sessions, bySession, seen), ctx.paging);
      } catch (e) {
        // A 4xx (not 401/429: those arrive as other kinds) to the query without chatId: the server wants the seed's form.
        if (e instanceof PermanentVendorError) refused = e;
        else throw e;
      }
    });
  }
  if (refused) {
    memory.windowRefusedUntil = now + WINDOW_REFUSAL_MEMORY_MS;
    logger.warn({ reason: refused.message }, 'twin24 refused a sessions query without chatId; looking sessions up one by one (the seed\'s call)');
  }
  // A failed window (5xx, 429) leaves its messages for the next tick instead of turning them into many calls.
  if (ctx.failures.error !== undefined) return;
  const missing = awaiting.filter((e) => !seen.has(e.messageId) && !ctx.write.isFinished(e));
  if (missing.length) await lookUpEach(deps, missing, ctx);
}

/** The seed's call, `chatId=<providerMessageId>`, for each message (a few at a time). */
async function lookUpEach(deps: CorrelatorDeps, entries: PendingEntry[], ctx: LookupContext): Promise<void> {
  const now = (deps.now ?? Date.now)();
  const queue = [...entries];
  const seen = new Set<string>();
  const worker = async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      const e = entry;
      ctx.summary.sessionLookups++;
      const only = new Map([[e.progress.sessionId!, e]]);
      await ctx.failures.guard(() => deps.client.sessions(perSessionSpan(e, ctx.pad, now, deps.settings.correlateWindowMs), e.progress.sessionId, (sessions) => apply(deps, ctx, sessions, only, seen), ctx.paging));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PER_SESSION_CONCURRENCY, queue.length) }, worker));
}

/** One page of sessions: each one of ours with an answer is correlated; `seen` notes which sessions came back. */
async function apply(deps: CorrelatorDeps, ctx: LookupContext, sessions: SessionStat[], bySession: Map<string, PendingEntry>, seen: Set<string>): Promise<void> {
  const keys = deps.settings.resultKeys ?? [];
  for (const session of sessions) {
    const entry = bySession.get(session.id);
    if (!entry) continue;
    seen.add(entry.messageId);
    if (ctx.write.isFinished(entry) || !isResultPresent(session.dialogResultsFromBotJson, keys)) continue;
    const result = session.dialogResultsFromBotJson;
    const vendorStatus = entry.progress.vendorStatus ?? 'DELIVERED';
    ctx.write.queue(() => ctx.write.final(entry, 'correlated', { vendorStatus, chatId: session.id, result }));
  }
  await ctx.write.flush();
}

/** The session started between sending and the first delivered status we saw (padded for clock skew). */
function spanOf(e: PendingEntry, pad: number): TimeWindow {
  return { from: e.sentAt - pad, to: e.progress.deliveredSeenAt! + pad };
}

/**
 * With `chatId` pinning the one session, a wider window costs nothing: from sending up to now (within the window
 * limit), so a session whose start Twin24 dates later than we saw the delivery (clock skew) is still found.
 */
function perSessionSpan(e: PendingEntry, pad: number, now: number, maxSpanMs: number): TimeWindow {
  const from = e.sentAt - pad;
  return { from, to: Math.max(e.progress.deliveredSeenAt! + pad, Math.min(now + pad, from + maxSpanMs)) };
}
