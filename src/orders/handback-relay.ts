import type { Queue } from 'bullmq';
import type { RedisConnection } from '../queues/connection.js';
import { encodeIdPart } from '../queues/job-ids.js';
import { JOB_NAMES } from '../queues/names.js';
import { JITTERED_BACKOFF } from '../queues/options.js';
import type { Logger } from '../runtime/logger.js';
import type { OrderNotification } from './handback.js';

/**
 * Moves notifications from the hand-back outboxes (one Redis list per key group, written by the record script in
 * the same call as the record) into BullMQ jobs, many per job: a status change costs one RPUSH instead of one or two
 * BullMQ jobs. Exactly once per notification:
 *   1. one script takes up to `batchMax` entries off the outbox into a numbered batch (a list) and lists the batch
 *      as pending, so a taken batch is never lost;
 *   2. the jobs are added with ids derived from the batch number (a re-add is a no-op in BullMQ);
 *   3. the batch is deleted. A process that dies between 1 and 3 leaves a pending batch that any relay re-adds
 *      after PENDING_GRACE_MS (same job ids).
 */
const TAKE = `
local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #items == 0 then return false end
redis.call('LTRIM', KEYS[1], #items, -1)
local seq = redis.call('INCR', KEYS[2])
local batch = ARGV[3] .. seq
redis.call('RPUSH', batch, unpack(items))
redis.call('PEXPIRE', batch, ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[2], seq)
return { seq, items }
`;

/** A taken batch older than this is presumed orphaned (its relay died) and re-added by another. */
export const PENDING_GRACE_MS = 30_000;
/** Kept long enough for any relay to pick an orphaned batch up. */
const BATCH_TTL_MS = 7 * 86_400_000;

export interface RelayDeps {
  connection: RedisConnection;
  /** Prefix of each group's keys (the outbox is `<prefix>:handback`); duplicates collapse. */
  prefixes: readonly string[];
  resultsQueue?: Queue;
  webhookQueue?: Queue;
  /** Notifications per job; 1 = one `order.notification` job per change (the pre-batching contract). */
  batchMax: number;
  logger: Logger;
  /** After jobs were added to the results queue (its producer-side cap). */
  afterAdd?: () => Promise<void>;
  /** How long a poke waits for more changes before relaying (ms). */
  lingerMs?: number;
  /** How often every outbox and the pending batches are looked at, for entries a dead process left (ms). */
  sweepEveryMs?: number;
}

type TakeRedis = RedisConnection & { orderNotifyTakeBatch(outbox: string, seq: string, pending: string, ...args: string[]): Promise<[number, string[]] | null> };

export class HandbackRelay {
  private readonly prefixes: string[];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private sweeper?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly deps: RelayDeps) {
    this.prefixes = [...new Set(deps.prefixes)];
    if (!('orderNotifyTakeBatch' in deps.connection)) deps.connection.defineCommand('orderNotifyTakeBatch', { numberOfKeys: 3, lua: TAKE });
  }

  /** Periodic sweep of every outbox and of orphaned batches. */
  start(): this {
    const every = this.deps.sweepEveryMs ?? 5_000;
    this.sweeper = setInterval(() => { void this.sweep(); }, every);
    this.sweeper.unref();
    return this;
  }

  /** A change was written to the outbox under this prefix: relay it soon (changes arriving meanwhile ride along). */
  poke(prefix: string): void {
    if (this.closed || this.timers.has(prefix)) return;
    const t = setTimeout(() => {
      this.timers.delete(prefix);
      void this.drain(prefix);
    }, this.deps.lingerMs ?? 10);
    t.unref();
    this.timers.set(prefix, t);
  }

  /** Relays everything in one outbox now (one drain per prefix at a time). */
  drain(prefix: string): Promise<void> {
    const busy = this.running.get(prefix);
    if (busy) return busy.then(() => this.drain(prefix));
    const run = this.drainOnce(prefix).catch((e: unknown) => {
      this.deps.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'hand-back relay failed; the outbox keeps the notifications and the sweep retries');
    }).finally(() => this.running.delete(prefix));
    this.running.set(prefix, run);
    return run;
  }

  private async drainOnce(prefix: string): Promise<void> {
    const redis = this.deps.connection as TakeRedis;
    for (;;) {
      const taken = await redis.orderNotifyTakeBatch(`${prefix}:handback`, `${prefix}:handback:seq`, `${prefix}:handback:pending`,
        String(this.deps.batchMax), String(Date.now()), `${prefix}:handback:batch:`, String(BATCH_TTL_MS));
      if (!taken) return;
      const [seq, items] = taken;
      await this.publish(prefix, Number(seq), items);
      if (items.length < this.deps.batchMax) return;
    }
  }

  private async publish(prefix: string, seq: number, items: string[]): Promise<void> {
    const notifications = items.flatMap((raw) => {
      try {
        return [JSON.parse(raw) as OrderNotification];
      } catch {
        this.deps.logger.error({ entry: raw.slice(0, 200) }, 'hand-back outbox entry is not JSON; dropped');
        return [];
      }
    });
    const { resultsQueue, webhookQueue } = this.deps;
    if (this.deps.batchMax === 1) {
      // The pre-batching contract: one job per change, its id the event id.
      const jobs = notifications.map((n) => ({ name: JOB_NAMES.orderNotification, data: n, opts: { jobId: n.eventId } }));
      if (resultsQueue && jobs.length) await resultsQueue.addBulk(jobs);
      if (webhookQueue && jobs.length) await webhookQueue.addBulk(jobs.map((j) => ({ ...j, name: JOB_NAMES.webhook, opts: { ...j.opts, backoff: { type: JITTERED_BACKOFF } } })));
    } else if (notifications.length) {
      const jobId = `nb.${encodeIdPart(prefix)}.${seq}`;
      const data = notificationBatch(notifications);
      if (resultsQueue) await resultsQueue.add(JOB_NAMES.orderNotifications, data, { jobId });
      if (webhookQueue) await webhookQueue.add(JOB_NAMES.webhook, data, { jobId, backoff: { type: JITTERED_BACKOFF } });
    }
    if (resultsQueue) await this.deps.afterAdd?.();
    await this.deps.connection.multi().del(`${prefix}:handback:batch:${seq}`).zrem(`${prefix}:handback:pending`, String(seq)).exec();
  }

  /** Every outbox, then every batch taken more than PENDING_GRACE_MS ago and still pending (its relay died). */
  async sweep(): Promise<void> {
    for (const prefix of this.prefixes) {
      if (this.closed) return;
      await this.drain(prefix);
      try {
        const orphaned = await this.deps.connection.zrangebyscore(`${prefix}:handback:pending`, '-inf', String(Date.now() - PENDING_GRACE_MS));
        for (const seq of orphaned) {
          const items = await this.deps.connection.lrange(`${prefix}:handback:batch:${seq}`, 0, -1);
          await this.publish(prefix, Number(seq), items);
          this.deps.logger.warn({ batch: seq, notifications: items.length }, 'relayed a hand-back batch whose relay died before finishing it');
        }
      } catch (e) {
        this.deps.logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'hand-back sweep failed; retried on the next one');
      }
    }
  }

  /** Relays what this process wrote, then stops. */
  async close(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    const poked = [...this.timers.keys()];
    this.timers.clear();
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all(poked.map((p) => this.drain(p)));
    await Promise.all(this.running.values());
    this.closed = true;
  }
}

export const NOTIFICATIONS_TYPE = 'order.notifications';

/** The job data of a batch: the notifications in the order they were recorded (per delivery, oldest first). */
export function notificationBatch(notifications: OrderNotification[]) {
  return { version: 1 as const, type: NOTIFICATIONS_TYPE, notifications };
}
