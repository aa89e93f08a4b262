import { VENDOR } from '../errors.js';
import type { Twin24Config } from '../../../config/env.js';
import { isVendorError } from '../../../delivery/errors.js';
import type { Metrics } from '../../../observability/metrics.js';
import type { DeliveryPatch, DeliveryStatus, OrderRecords } from '../../../orders/record.js';
import type { Logger } from '../../../runtime/logger.js';
import { NO_TRACING, type Tracing } from '../../../observability/tracing.js';
import type { AnalyseClient, MessageStat, PagingStats } from './analyse-client.js';
import type { PendingEntry, PendingMessages, PendingProgress } from './pending.js';
import { lookUpSessions, type SessionLookupMemory } from './sessions.js';
import { statusMeaning } from './status.js';
import { coveringWindows } from './windows.js';

export type { SessionLookupMemory } from './sessions.js';

/**
 * One correlation tick, the seed's recipe made continuous: pending messages → message statistics by window (status,
 * providerMessageId = chat session) → session statistics by window (dialogResultsFromBotJson) → order record.
 * Every call is per window and page, never per message. A message leaves the pending set only after its final state
 * is in the record, so a tick that fails half-way (401 after refresh, 429, 5xx) loses nothing: the next one resumes.
 */

export type CorrelationSettings = Pick<Twin24Config, 'correlateMaxAgeMs' | 'correlateWindowMs' | 'sessionLookup' | 'resultKeys'>;

export interface CorrelatorDeps {
  settings: CorrelationSettings;
  pending: PendingMessages;
  records: OrderRecords;
  client: AnalyseClient;
  logger: Logger;
  metrics?: Pick<Metrics, 'correlations'>;
  /** Kept by the caller between ticks: whether the server refused a sessions query without chatId. */
  lookupMemory?: SessionLookupMemory;
  /** Padding on each side of a window for clock skew between us and Twin24 (default 2 min). */
  skewPadMs?: number;
  now?: () => number;
  /** With tracing on, each record update joins its order's trace (the context stored with the pending message). */
  tracing?: Tracing;
}

export interface TickSummary {
  pending: number;
  messageWindows: number;
  sessionWindows: number;
  /** Per-session lookups (the seed's `chatId=<providerMessageId>` call): per-session mode, or the window's fallback. */
  sessionLookups: number;
  /** Analyse API requests made (pages, plus token-refresh retries). */
  calls: number;
  /** Record writes for a changed Twin24 status that is not final yet. */
  progressed: number;
  correlated: number;
  /** Final without a result: undelivered, error, expired. */
  failed: number;
  timedOut: number;
  /** Statistics rows that did not have the documented shape (skipped). */
  malformed: number;
}

export const DEFAULT_SKEW_PAD_MS = 120_000;
/** Record writes in flight at once (each also enqueues the hand-back notification). */
const WRITE_CONCURRENCY = 32;

export async function runCorrelationTick(deps: CorrelatorDeps): Promise<TickSummary> {
  const { settings, pending, client, logger } = deps;
  const clock = deps.now ?? Date.now;
  const now = clock();
  const pad = deps.skewPadMs ?? DEFAULT_SKEW_PAD_MS;
  const summary: TickSummary = { pending: 0, messageWindows: 0, sessionWindows: 0, sessionLookups: 0, calls: 0, progressed: 0, correlated: 0, failed: 0, timedOut: 0, malformed: 0 };

  const { entries, unreadable } = await pending.list();
  if (unreadable.length) {
    logger.warn({ messageIds: unreadable.slice(0, 20), count: unreadable.length }, 'dropping pending Twin24 messages whose details are unreadable');
    await pending.remove(unreadable);
  }
  summary.pending = entries.length;
  if (entries.length === 0) return summary;
  const byId = new Map(entries.map((e) => [e.messageId, e]));
  const write = new RecordWriter(deps, summary);

  // A failed window does not stop the others (their progress is independent), except a 429: then we stop asking.
  const failures = new FailureLog();
  const paging: PagingStats = { items: 0, malformed: 0, calls: 0 };

  // 1. Statuses, window by window and page by page; each page's outcome is stored before the next page is asked for.
  for (const window of coveringWindows(entries.map((e) => e.sentAt), settings.correlateWindowMs, pad)) {
    summary.messageWindows++;
    await failures.guard(() => client.messages(window, async (stats) => {
      for (const stat of stats) {
        const entry = byId.get(stat.id);
        if (entry && !write.isFinished(entry)) write.queue(() => applyStatus(write, entry, stat, clock()));
      }
      await write.flush();
    }, paging));
  }

  // 2. Results of delivered messages: their chat session (providerMessageId) and its dialogResultsFromBotJson.
  const awaiting = entries.filter((e) => !write.isFinished(e) && e.progress.sessionId && e.progress.deliveredSeenAt !== undefined);
  if (awaiting.length) {
    await lookUpSessions(deps, awaiting, { write, failures, paging, summary, pad });
  }
  summary.calls = paging.calls;
  summary.malformed = paging.malformed;
  if (failures.error !== undefined) {
    // Nothing times out on a tick that could not ask about everything; what was stored stays stored.
    logger.warn({ ...summary, reason: failures.error instanceof Error ? failures.error.message : String(failures.error) }, 'twin24 correlation tick failed part-way; pending messages kept');
    throw failures.error;
  }

  // 3. Only after every window was read: what is still open past the maximum age will not be answered any more.
  const cutoff = now - settings.correlateMaxAgeMs;
  for (const entry of entries) {
    if (write.isFinished(entry) || entry.sentAt > cutoff) continue;
    write.queue(() => write.final(entry, 'timed_out', {
      vendorStatus: entry.progress.vendorStatus,
      chatId: entry.progress.sessionId,
      reason: `no final answer from Twin24 within ${Math.round(settings.correlateMaxAgeMs / 1000)} s of sending (last status ${entry.progress.vendorStatus ?? 'none'})`,
    }));
  }
  await write.flush();

  const changed = summary.progressed + summary.correlated + summary.failed + summary.timedOut;
  logger[changed || summary.malformed ? 'info' : 'debug']({ ...summary }, 'twin24 correlation tick');
  return summary;
}

/**
 * The age sweep, run after every tick whether it succeeded or not: a message older than the maximum age plus
 * `graceMs` is recorded timed_out and leaves the pending set even while Twin24's statistics cannot be read (a
 * tick that fails for days must not let the set grow without bound). Returns how many it swept.
 */
export async function sweepPendingByAge(
  deps: Pick<CorrelatorDeps, 'settings' | 'pending' | 'records' | 'logger' | 'now'> & { metrics?: Pick<Metrics, 'correlations' | 'pendingSwept'> },
  graceMs: number,
): Promise<number> {
  const now = (deps.now ?? Date.now)();
  const cutoff = now - deps.settings.correlateMaxAgeMs - graceMs;
  let swept = 0;
  for (;;) {
    const { entries, unreadable } = await deps.pending.olderThan(cutoff);
    if (!entries.length && !unreadable.length) break;
    for (const entry of entries) {
      await deps.records.update(entry.orderId, entry.deliveryId, {
        vendor: VENDOR, ruleId: entry.ruleId, vendorMessageId: entry.messageId, status: 'timed_out',
        vendorStatus: entry.progress.vendorStatus, chatId: entry.progress.sessionId, finalAt: new Date(now).toISOString(),
        reason: `no final answer from Twin24 within ${Math.round((deps.settings.correlateMaxAgeMs + graceMs) / 1000)} s of sending; ` +
          `swept by age (statistics could not be read meanwhile; last status ${entry.progress.vendorStatus ?? 'none'})`,
      });
      deps.metrics?.correlations.inc({ outcome: 'timed_out' });
    }
    await deps.pending.remove([...entries.map((e) => e.messageId), ...unreadable]);
    swept += entries.length + unreadable.length;
  }
  if (swept) {
    deps.metrics?.pendingSwept.inc(swept);
    deps.logger.warn({ swept }, 'twin24 pending messages past the maximum age swept (recorded timed_out)');
  }
  return swept;
}

/** What one statistics row means for one pending message. */
async function applyStatus(write: RecordWriter, entry: PendingEntry, stat: MessageStat, seenAt: number): Promise<void> {
  const meaning = statusMeaning(stat.status, stat.providerMessageId);
  const before = entry.progress;
  if (meaning.kind === 'final') {
    await write.final(entry, meaning.status, { vendorStatus: stat.status, chatId: stat.providerMessageId ?? before.sessionId });
    return;
  }
  const next: PendingProgress = { ...before, vendorStatus: stat.status };
  if (meaning.kind === 'delivered' && stat.providerMessageId) {
    next.sessionId = stat.providerMessageId;
    next.deliveredSeenAt = before.deliveredSeenAt ?? seenAt;
  }
  if (next.vendorStatus === before.vendorStatus && next.sessionId === before.sessionId && next.deliveredSeenAt === before.deliveredSeenAt) return;
  // Record (and notify) only real changes; the progress write after it makes the next tick quiet.
  if (next.vendorStatus !== before.vendorStatus || next.sessionId !== before.sessionId) {
    await write.progress(entry, { vendorStatus: next.vendorStatus, chatId: next.sessionId });
  }
  entry.progress = next;
  write.saveProgress(entry);
}

/**
 * Writes record changes with bounded concurrency, then saves progress and removes the finished messages from the
 * pending set, in that order: removal only ever follows a stored final state.
 */
export class RecordWriter {
  private readonly finished = new Set<string>();
  private readonly tasks: Array<() => Promise<void>> = [];
  private toRemove: string[] = [];
  private progressed: PendingEntry[] = [];

  constructor(private readonly deps: CorrelatorDeps, private readonly summary: TickSummary) {}

  isFinished(entry: PendingEntry): boolean {
    return this.finished.has(entry.messageId);
  }

  queue(task: () => Promise<void>): void {
    this.tasks.push(task);
  }

  async progress(entry: PendingEntry, patch: Pick<DeliveryPatch, 'vendorStatus' | 'chatId'>): Promise<void> {
    await this.traced(entry, 'sent', patch.vendorStatus, () => this.deps.records.update(entry.orderId, entry.deliveryId, { ...this.identity(entry), status: 'sent', ...patch }));
    this.summary.progressed++;
  }

  /** The update as a span of the order's trace, linked to the tick that learnt it; no span when tracing is off. */
  private traced<T>(entry: PendingEntry, status: DeliveryStatus, vendorStatus: string | undefined, write: () => Promise<T>): Promise<T> {
    const tracing = this.deps.tracing ?? NO_TRACING;
    if (!tracing.enabled) return write();
    return tracing.span('twin24 correlation update', {
      parent: entry.trace, links: [tracing.activeCarrier()],
      attributes: {
        'order_notify.vendor': VENDOR, 'order_notify.order_id': entry.orderId, 'order_notify.delivery_id': entry.deliveryId,
        'order_notify.status': status, 'order_notify.vendor_status': vendorStatus, 'order_notify.vendor_message_id': entry.messageId,
      },
    }, write);
  }

  saveProgress(entry: PendingEntry): void {
    this.progressed.push(entry);
  }

  async final(entry: PendingEntry, status: DeliveryStatus, patch: Pick<DeliveryPatch, 'vendorStatus' | 'chatId' | 'result' | 'reason'>): Promise<void> {
    if (this.finished.has(entry.messageId)) return;
    this.finished.add(entry.messageId);
    await this.traced(entry, status, patch.vendorStatus, () => this.deps.records.update(entry.orderId, entry.deliveryId, {
      ...this.identity(entry), status, ...patch, finalAt: new Date((this.deps.now ?? Date.now)()).toISOString(),
    }));
    this.toRemove.push(entry.messageId);
    if (status === 'correlated') this.summary.correlated++;
    else if (status === 'timed_out') this.summary.timedOut++;
    else this.summary.failed++;
    this.deps.metrics?.correlations.inc({ outcome: status });
  }

  async flush(): Promise<void> {
    const tasks = this.tasks.splice(0);
    let firstError: unknown;
    for (let i = 0; i < tasks.length; i += WRITE_CONCURRENCY) {
      const settled = await Promise.allSettled(tasks.slice(i, i + WRITE_CONCURRENCY).map((t) => t()));
      for (const s of settled) if (s.status === 'rejected') firstError ??= s.reason;
      if (firstError) break;
    }
    // What was written is kept even when a later write failed; the rest is retried next tick.
    const progressed = this.progressed.splice(0).filter((e) => !this.finished.has(e.messageId));
    await this.deps.pending.saveProgress(progressed.map((e) => ({ messageId: e.messageId, progress: e.progress })));
    const removed = this.toRemove.splice(0);
    await this.deps.pending.remove(removed);
    if (firstError) throw firstError;
  }

  private identity(entry: PendingEntry): Pick<DeliveryPatch, 'vendor' | 'ruleId' | 'vendorMessageId'> {
    return { vendor: VENDOR, ruleId: entry.ruleId, vendorMessageId: entry.messageId };
  }
}

/** The error a tick ends with: the first one, or a rate limit (which also stops further calls in this tick). */
export class FailureLog {
  error: unknown;
  private rateLimited = false;

  async guard(work: () => Promise<unknown>): Promise<void> {
    if (this.rateLimited) return;
    try {
      await work();
    } catch (e) {
      if (isVendorError(e) && e.kind === 'rate_limited') {
        this.rateLimited = true;
        this.error = e;
      } else {
        this.error ??= e;
      }
    }
  }
}
