import { Queue } from 'bullmq';
import { PendingMessages } from '../vendors/twin24/correlation/pending.js';
import { recentPauses } from '../delivery/pause-log.js';
import { vendorPauseKey } from '../delivery/rate-limiter.js';
import type { RedisConnection } from '../queues/connection.js';
import type { Keyspace } from '../queues/keyspace.js';
import { deliveryQueueNames, vendorGroup } from '../queues/names.js';
import { queueAt } from '../queues/options.js';
import { VENDORS } from '../vendors/registry.js';

/** Minutes shown in the per-minute bars. */
export const HEALTH_MINUTES = 15;

export interface VendorHealth {
  vendor: string;
  /** Jobs completed (sent) and failed for good, per minute, oldest first; the last entry is the current minute. */
  sentPerMinute: number[];
  failedPerMinute: number[];
  /** > 0 while a 429 pauses the vendor. */
  pausedForMs: number;
  pausesLastHour: number;
  depth: { waiting: number; active: number; delayed: number; failed: number };
}

export interface CorrelatorHealth {
  pending: number;
  /** Age of the oldest Twin24 message still waiting for its outcome: how far the correlator is behind. */
  oldestPendingAgeMs?: number;
}

export interface HealthSnapshot {
  at: string;
  vendors: VendorHealth[];
  correlator: CorrelatorHealth;
}

/**
 * The health strip's figures, read from Redis so they cover every worker process: BullMQ's per-minute job
 * metrics (the delivery workers keep them), queue counts, the shared limiter's pause key and pause log, and the
 * Twin24 pending set.
 */
export class VendorHealthReader {
  /** Each vendor's delivery queues: one, or every partition (the strip shows the vendor's sum). */
  private readonly queues = new Map<string, Queue[]>();
  private readonly pending: PendingMessages;

  constructor(private readonly connection: RedisConnection, private readonly keys: Keyspace, partitions: Readonly<Record<string, number>> = {}) {
    for (const vendor of VENDORS) {
      this.queues.set(vendor, deliveryQueueNames(vendor, partitions[vendor]).map((name) => {
        const queue = new Queue(name, { connection, ...queueAt(keys, name) });
        queue.on('error', () => {}); // the page answers 503 for that request; the process stays up
        return queue;
      }));
    }
    this.pending = new PendingMessages(connection, keys.beside(vendorGroup('twin24')));
  }

  async read(now = Date.now()): Promise<HealthSnapshot> {
    const vendors = await Promise.all([...this.queues].map(async ([vendor, queues]): Promise<VendorHealth> => {
      const beside = this.keys.beside(vendorGroup(vendor));
      const [perQueue, pausedForMs, pauses] = await Promise.all([
        Promise.all(queues.map((queue) => Promise.all([
          queue.getMetrics('completed', 0, HEALTH_MINUTES - 1),
          queue.getMetrics('failed', 0, HEALTH_MINUTES - 1),
          queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized'),
        ]))),
        this.connection.pttl(vendorPauseKey(beside, vendor)),
        recentPauses(this.connection, beside, vendor, now),
      ]);
      const counts: Record<string, number> = {};
      for (const [, , c] of perQueue) for (const [state, n] of Object.entries(c)) counts[state] = (counts[state] ?? 0) + n;
      const sum = (lists: number[][]) => lists.reduce((acc, l) => acc.map((v, i) => v + (l[i] ?? 0)));
      return {
        vendor,
        sentPerMinute: sum(perQueue.map(([sent]) => perMinute(sent, now))),
        failedPerMinute: sum(perQueue.map(([, failed]) => perMinute(failed, now))),
        pausedForMs: Math.max(0, pausedForMs),
        pausesLastHour: pauses.length,
        depth: { waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0), active: counts.active ?? 0, delayed: counts.delayed ?? 0, failed: counts.failed ?? 0 },
      };
    }));
    const [pending, oldest] = await Promise.all([
      this.pending.count(),
      this.connection.zrange(this.pending.indexKey, 0, 0, 'WITHSCORES'),
    ]);
    const oldestSentAt = oldest.length === 2 ? Number(oldest[1]) : undefined;
    return {
      at: new Date(now).toISOString(),
      vendors,
      correlator: { pending, oldestPendingAgeMs: oldestSentAt === undefined ? undefined : Math.max(0, now - oldestSentAt) },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].flat().map((q) => q.close()));
  }
}

/**
 * BullMQ closes a minute's data point only when a job finishes in a later minute: `data` (newest first) ends at the
 * minute of `meta.prevTS`, whose own count so far is `meta.count - meta.prevCount`. Aligned here to the clock, with
 * the quiet minutes since then as zeros, oldest first.
 */
export function perMinute(m: { data: number[]; meta: { count: number; prevTS: number; prevCount: number } }, now: number): number[] {
  const prevTS = Number(m.meta.prevTS);
  if (!Number.isFinite(prevTS) || prevTS <= 0) return new Array<number>(HEALTH_MINUTES).fill(0);
  const quiet = Math.max(0, Math.floor(now / 60_000) - Math.floor(prevTS / 60_000));
  const partial = Number(m.meta.count) - Number(m.meta.prevCount || 0);
  const newestFirst = [...new Array<number>(quiet).fill(0), partial, ...m.data.map(Number)];
  return Array.from({ length: HEALTH_MINUTES }, (_, i) => newestFirst[i] ?? 0).reverse();
}
