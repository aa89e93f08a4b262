import { Queue } from 'bullmq';
import type { RedisConnection } from '../queues/connection.js';
import type { Keyspace } from '../queues/keyspace.js';
import { queueAt } from '../queues/options.js';
import { allQueueNames } from '../queues/names.js';
import { refreshBacklogGauges } from './backlog-gauges.js';
import { VENDORS } from '../vendors/registry.js';
import type { Metrics } from './metrics.js';

/** The states an operator watches; a rate-limited or paused vendor shows as growing `waiting`. */
export const JOB_STATES = ['waiting', 'delayed', 'active', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/**
 * How far ahead `order_notify_queue_jobs_due` looks into the delayed set: retries and short rule delays fall inside
 * it, quiet-hours deliveries scheduled for tomorrow do not (scaling up for them now would only idle).
 */
export const DUE_HORIZON_MS = 60_000;

/** Counts younger than this are served from the last read: a scrape storm must not become a Redis storm. */
export const QUEUE_COUNTS_MAX_AGE_MS = 5_000;

/**
 * Reads jobs per queue and state, the age of the job at the head of each wait list, and the backlog gauges at
 * scrape time, and tells `order_notify_redis_up` whether Redis answered. Each read is 8 queues × 7 states, so a
 * read at most every QUEUE_COUNTS_MAX_AGE_MS is shared by the scrapes in between (and concurrent scrapes share one
 * read in flight); a failed read is never cached. Every process reports every queue; aggregate with
 * `max by (queue, state)`.
 */
export class QueueDepthGauges {
  private readonly queues: Queue[];
  private lastReadAt = -Infinity;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly connection: RedisConnection,
    private readonly keys: Keyspace,
    /** Every queue (pass config.partitions so each delivery-queue partition is reported under its own name). */
    names: readonly string[] = allQueueNames(VENDORS),
    private readonly maxAgeMs = QUEUE_COUNTS_MAX_AGE_MS,
  ) {
    this.queues = names.map((name) => {
      const q = new Queue(name, { connection, ...queueAt(keys, name) });
      q.on('error', () => {}); // reported through order_notify_redis_up and /readyz
      return q;
    });
    metrics.onScrape(() => this.cachedRefresh());
  }

  /** What a scrape calls: the last read when it is fresh enough, else one shared read. */
  cachedRefresh(): Promise<void> {
    if (performance.now() - this.lastReadAt < this.maxAgeMs) return Promise.resolve();
    this.inFlight ??= this.refresh().then(() => { this.lastReadAt = performance.now(); }).finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  /** A worker connection queues commands while Redis is away; the deadline keeps a scrape from hanging on it. */
  async refresh(timeoutMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`queue counts not read within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const now = Date.now();
      const read = Promise.all(this.queues.map(async (q) => {
        // Jobs are pushed on the left of the wait list and taken from the right: ascending order starts at the head.
        const [counts, [oldest]] = await Promise.all([q.getJobCounts(...JOB_STATES), q.getJobs(['wait'], 0, 0, true)]);
        return { queue: q.name, counts, oldest };
      }));
      const [all] = await Promise.race([Promise.all([read, refreshBacklogGauges(this.metrics, this.connection, this.keys, now)]), deadline]);
      for (const { queue, counts, oldest } of all) {
        for (const state of JOB_STATES) this.metrics.queueJobs.set({ queue, state }, counts[state] ?? 0);
        this.metrics.queueOldestWaitingSeconds.set({ queue }, oldest ? Math.max(0, (now - oldest.timestamp) / 1_000) : 0);
      }
      await Promise.race([this.readDue(all), deadline]);
      this.metrics.redisUp.set(1);
    } catch (e) {
      this.metrics.redisUp.set(0);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Work a worker should take within DUE_HORIZON_MS: waiting + prioritized + delayed jobs due by then. What autoscaling
   * targets (KEDA's list scaler sees only the wait list). BullMQ scores a delayed job by its due time × 0x1000 (the low
   * 12 bits order jobs due in the same millisecond), so one ZCOUNT per queue reads the due part of the set.
   */
  private async readDue(all: ReadonlyArray<{ counts: Record<string, number> }>): Promise<void> {
    const until = (Date.now() + DUE_HORIZON_MS) * 0x1000 + 0xfff;
    await Promise.all(this.queues.map(async (q, i) => {
      const counts = all[i]!.counts;
      const due = await this.connection.zcount(q.keys.delayed!, 0, until);
      this.metrics.queueJobsDue.set({ queue: q.name }, (counts.waiting ?? 0) + (counts.prioritized ?? 0) + due);
    }));
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
