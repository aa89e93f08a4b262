import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisConnection } from '../queues/connection.js';

/** BullMQ's failedReason for a job whose worker stopped more than maxStalledCount times while it was active. */
export const STALLED_OUT_REASON = 'job stalled more than allowable limit';

/** Most failed jobs read per queue and look (one ZRANGEBYSCORE page, one pipeline of HGETs). */
const PAGE = 500;
/** Pages per queue and look: a burst of failures beyond this is read on the next looks. */
const MAX_PAGES = 20;

export interface StalledOutWatcher {
  /** One look at every queue's failed set now (the timer calls it; tests too). Returns how many were handed over. */
  check(): Promise<number>;
  close(): Promise<void>;
}

/**
 * A job that stalled more than maxStalledCount times is failed by BullMQ without calling any of our code (the
 * stalled check marks it, the next worker to take it fails it at once): its record and hand-back would never hear.
 * Instead of reading the queue's whole event stream for that (a blocking XREAD per replica on every event of
 * every job), each replica looks every `everyMs` at the jobs that entered the failed set since its last look (a
 * ZRANGEBYSCORE on the failed set, scored by the time they failed), reads their failedReason and hands the stalled
 * ones to `onStalledOut`. Every replica sees them, so the handler must be idempotent (it is: it rewrites the same
 * final record). The look window overlaps the previous one by `everyMs`, so a replica whose clock runs behind the
 * one that failed the job still sees it; ids already seen in the overlap are not handed over twice by this replica.
 */
export function watchStalledOut(opts: {
  queues: readonly Queue[]; connection: RedisConnection; everyMs: number; autorun: boolean; logger: Logger;
  onStalledOut(jobId: string, queue: Queue): Promise<void>;
  now?: () => number;
}): StalledOutWatcher {
  const { queues, connection, everyMs, logger } = opts;
  const now = opts.now ?? Date.now;
  // Per queue: where the last look got to (a failure time) and the ids seen at or after it minus the overlap.
  const state = queues.map(() => ({ since: now() - everyMs, seen: new Map<string, number>() }));
  let running: Promise<number> | undefined;
  let closed = false;

  async function look(queue: Queue, s: (typeof state)[number]): Promise<number> {
    const from = s.since - everyMs;
    let handed = 0;
    let offset = 0;
    for (let page = 0; page < MAX_PAGES; page++) {
      const raw = await connection.zrangebyscore(queue.keys.failed!, from, '+inf', 'WITHSCORES', 'LIMIT', offset, PAGE);
      const fresh: Array<{ id: string; at: number }> = [];
      for (let i = 0; i < raw.length; i += 2) {
        const id = raw[i]!;
        const at = Number(raw[i + 1]);
        s.since = Math.max(s.since, at);
        if (!s.seen.has(id)) fresh.push({ id, at });
      }
      if (fresh.length) {
        const pipeline = connection.pipeline();
        for (const { id } of fresh) pipeline.hget(queue.toKey(id), 'failedReason');
        const reasons = (await pipeline.exec()) ?? [];
        for (const [i, { id, at }] of fresh.entries()) {
          s.seen.set(id, at);
          if (reasons[i]?.[1] !== STALLED_OUT_REASON) continue;
          handed++;
          await opts.onStalledOut(id, queue)
            .catch((e: unknown) => logger.error({ jobId: id, queue: queue.name, err: e instanceof Error ? e.message : String(e) }, 'could not record a stalled-out job'));
        }
      }
      if (raw.length < 2 * PAGE) break;
      offset += PAGE;
    }
    // Ids older than the next window cannot come back: forget them.
    for (const [id, at] of s.seen) if (at < s.since - everyMs) s.seen.delete(id);
    return handed;
  }

  const check = (): Promise<number> => {
    running ??= Promise.all(queues.map((q, i) => look(q, state[i]!)))
      .then((n) => n.reduce((a, b) => a + b, 0))
      .finally(() => { running = undefined; });
    return running;
  };

  const timer = opts.autorun
    ? setInterval(() => {
      if (!closed) check().catch((e: unknown) => logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not look for stalled-out jobs; next look retries'));
    }, everyMs)
    : undefined;
  timer?.unref();

  return {
    check,
    async close() {
      closed = true;
      if (timer) clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
