import type { AxiosInstance } from 'axios';
import { answerOf } from '../../../http-client/classify.js';
import { callJson } from '../http.js';
import { z } from 'zod';
import { describeIssue } from '../../../events/zod-issues.js';
import { jitteredBackoff } from '../../../queues/backoff.js';
import { AuthExpiredVendorError, PermanentVendorError, RetryableVendorError } from '../../../delivery/errors.js';
import type { VendorCallMetrics } from '../../../delivery/types.js';
import type { Twin24TokenSource } from '../auth.js';
import { classifyTwin24Failure, VENDOR } from '../errors.js';
import { twin24Instant, type TimeWindow } from './windows.js';

/**
 * Twin24's analyse (statistics) API, read window by window and page by page to the end. Failures come out as the
 * shared taxonomy: a refused token is refreshed once through the shared token source, then 429 / 5xx / other 4xx
 * are thrown for the tick to handle (it keeps every pending message).
 */

export interface MessageStat {
  id: string;
  /** The chat session the message started; null until it is delivered. */
  providerMessageId: string | null;
  status: string;
}

export interface SessionStat {
  id: string;
  dialogResultsFromBotJson: unknown;
}

/** The seed's step 2: "обязательно использовать поля id, providerMessageId и status". */
export const MESSAGE_FIELDS = 'id,providerMessageId,status';
/** Item keys of a session that are not bot variables (what a `fields` name that is not one of these selects). */
const SESSION_ITEM_KEYS = new Set(['id', 'name', 'clientId', 'messengerType', 'dialogResultsFromBotJson']);
/** Stops a runaway paging loop (a server that ignores `page`); far above any real window. */
const MAX_PAGES = 10_000;
const DEFAULT_PAGE_RETRIES = 2;
const DEFAULT_PAGE_RETRY_BACKOFF_MS = 250;

const pageSchema = z.object({ count: z.number().int().nonnegative().optional(), items: z.array(z.unknown()).default([]) });
const messageItem = z.looseObject({ id: z.string().min(1), providerMessageId: z.string().min(1).nullish(), status: z.string().min(1) });
const sessionItem = z.looseObject({ id: z.string().min(1), dialogResultsFromBotJson: z.unknown().optional() });

export interface AnalyseClientOptions {
  analyseUrl: string;
  http: AxiosInstance;
  tokens: Twin24TokenSource;
  metrics: VendorCallMetrics;
  pageSize: number;
  /** `fields` of the sessions query (default: the seed's id,name,clientId,messengerType). */
  sessionFields?: readonly string[];
  /** Extra attempts for a page that failed transiently (default 2). */
  pageRetries?: number;
  /** Base of the jittered backoff between those attempts (default 250 ms). */
  pageRetryBackoffMs?: number;
}

export interface PagingStats {
  /** Items read (well-formed ones handed to the page callback). */
  items: number;
  /** Items the API returned that did not have the documented shape (skipped, counted for the log). */
  malformed: number;
  /** HTTP requests made (pages, plus one per token-refresh retry). */
  calls: number;
}

/** Called once per page, before the next page is asked for: a failure later in the window keeps this page's work. */
export type PageHandler<T> = (items: T[]) => Promise<void>;

export class AnalyseClient {
  constructor(private readonly opts: AnalyseClientOptions) {}

  /** Every message created in the window: `channel=CHAT`, the three fields the seed requires. */
  messages(window: TimeWindow, onPage: PageHandler<MessageStat>, stats?: PagingStats): Promise<PagingStats> {
    const query = { ...windowQuery(window), channel: 'CHAT', fields: MESSAGE_FIELDS };
    return this.allPages('/statistics/messaging/messages', 'statistics/messages', query, onPage, stats, (item) => {
      const parsed = messageItem.safeParse(item);
      return parsed.success ? { id: parsed.data.id, providerMessageId: parsed.data.providerMessageId ?? null, status: parsed.data.status } : undefined;
    });
  }

  /**
   * Chat sessions started in the window: with `sessionId`, the seed's step 3 (`chatId=<providerMessageId>`, the one
   * session a message started); without, every session of the window. Query keys in the seed's order.
   */
  sessions(window: TimeWindow, sessionId: string | undefined, onPage: PageHandler<SessionStat>, stats?: PagingStats): Promise<PagingStats> {
    const fields = this.opts.sessionFields?.length ? [...this.opts.sessionFields] : ['id', 'name', 'clientId', 'messengerType'];
    const query: Record<string, string> = { ...windowQuery(window), withoutCount: 'false', withoutItems: 'false' };
    const botVariables = fields.filter((f) => !SESSION_ITEM_KEYS.has(f));
    return this.allPages('/statistics/chat/sessions', 'statistics/sessions', query, onPage, stats, (item) => {
      const parsed = sessionItem.safeParse(item);
      return parsed.success ? { id: parsed.data.id, dialogResultsFromBotJson: resultsOf(parsed.data, botVariables) } : undefined;
    }, { ...(sessionId !== undefined ? { chatId: sessionId } : {}), fields: fields.join(',') });
  }

  /**
   * Pages 0, 1, … until `count` items were read or a page comes back empty. A short page is not the end while
   * `count` says more exist (a server may cap `limit` below ours); without a count only an empty page ends it.
   */
  private async allPages<T>(
    path: string, endpoint: string, query: Record<string, string>, onPage: PageHandler<T>,
    stats: PagingStats = { items: 0, malformed: 0, calls: 0 }, read: (item: unknown) => T | undefined,
    tail: Record<string, string> = {},
  ): Promise<PagingStats> {
    const limit = this.opts.pageSize;
    const out = stats;
    let seen = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const url = `${this.opts.analyseUrl}${path}?${encodeQuery({ ...query, limit: String(limit), page: String(page), ...tail })}`;
      const body = await this.get(url, endpoint, out);
      const parsed = pageSchema.safeParse(body);
      if (!parsed.success) {
        throw new PermanentVendorError(`${endpoint}: answer is not { count, items[] } (${describeIssue(parsed.error.issues[0]!, { root: 'body' })})`, { vendor: VENDOR });
      }
      const { count, items } = parsed.data;
      const values: T[] = [];
      for (const item of items) {
        const value = read(item);
        if (value === undefined) out.malformed++;
        else values.push(value);
      }
      out.items += values.length;
      await onPage(values);
      seen += items.length;
      if (items.length === 0 || (count !== undefined && seen >= count)) return out;
    }
    throw new PermanentVendorError(`${endpoint}: more than ${MAX_PAGES} pages; is paging ignored?`, { vendor: VENDOR });
  }

  /**
   * One page: a transient failure (5xx, timeout) is retried a few times with jittered backoff right here, so one
   * hiccup does not cost the rest of the tick; a 401 gets one retry with a refreshed token (any 401: a read is safe
   * to repeat); 429 and permanent errors go straight up.
   */
  private async get(url: string, endpoint: string, counter: { calls: number }): Promise<unknown> {
    const retries = this.opts.pageRetries ?? DEFAULT_PAGE_RETRIES;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.getWithAuth(url, endpoint, counter);
      } catch (e) {
        if (!(e instanceof RetryableVendorError) || attempt > retries) throw e;
        await sleep(jitteredBackoff(attempt, this.opts.pageRetryBackoffMs ?? DEFAULT_PAGE_RETRY_BACKOFF_MS, 5_000));
      }
    }
  }

  private async getWithAuth(url: string, endpoint: string, counter: { calls: number }): Promise<unknown> {
    const token = await this.opts.tokens.token();
    try {
      return await this.timedGet(url, endpoint, token, counter);
    } catch (e) {
      const error = classifyTwin24Failure(e, endpoint);
      const unauthorized = error instanceof AuthExpiredVendorError || answerOf(e)?.status === 401;
      if (!unauthorized) throw error;
      const fresh = await this.opts.tokens.refresh(token);
      try {
        return await this.timedGet(url, endpoint, fresh, counter);
      } catch (again) {
        throw classifyTwin24Failure(again, endpoint);
      }
    }
  }

  private async timedGet(url: string, endpoint: string, token: string, counter: { calls: number }): Promise<unknown> {
    counter.calls++;
    const res = await callJson({ http: this.opts.http, metrics: this.opts.metrics }, 'GET', url, endpoint, undefined, { authorization: `Bearer ${token}` });
    return res.data;
  }
}

/**
 * The session's bot results. A server may answer a bot variable named in `fields` (the seed's `nps`) on the item
 * itself rather than inside dialogResultsFromBotJson: such values are folded in, never overriding the object's own.
 */
function resultsOf(item: Record<string, unknown>, botVariables: readonly string[]): unknown {
  const own = item.dialogResultsFromBotJson;
  const lifted = Object.fromEntries(botVariables.filter((k) => item[k] !== undefined).map((k) => [k, item[k]]));
  if (Object.keys(lifted).length === 0) return own ?? null;
  const base = typeof own === 'object' && own !== null && !Array.isArray(own) ? own : {};
  return { ...lifted, ...base };
}

function windowQuery(window: TimeWindow): Record<string, string> {
  return { from: twin24Instant(window.from, 'from'), to: twin24Instant(window.to, 'to') };
}

/** As the seed: every value percent-encoded, so the `+` of an offset travels as %2B and commas as %2C. */
export function encodeQuery(query: Record<string, string>): string {
  return Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
