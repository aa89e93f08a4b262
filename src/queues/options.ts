import type { DefaultJobOptions, QueueOptions, WorkerOptions } from 'bullmq';
import { jitteredBackoff } from './backoff.js';
import type { AppConfig } from '../config/env.js';
import type { Keyspace } from './keyspace.js';

/** Retention so Redis does not grow forever (BullMQ keeps finished jobs forever by default). */
export function retention(config: Pick<AppConfig, 'jobs'>): Pick<DefaultJobOptions, 'removeOnComplete' | 'removeOnFail'> {
  return {
    removeOnComplete: { age: Math.ceil(config.jobs.keepCompletedMs / 1000), count: 100_000 },
    // Failed jobs also get a count cap: a long vendor outage must not fill Redis with failures (Redis full = no ledger).
    removeOnFail: { age: Math.ceil(config.jobs.keepFailedMs / 1000), ...(config.jobs.keepFailedCount ? { count: config.jobs.keepFailedCount } : {}) },
  };
}

/** The backoff strategy name registered on every worker (see queues/backoff.ts). */
export const JITTERED_BACKOFF = 'jittered-exponential';

export function deliveryJobOptions(config: Pick<AppConfig, 'jobs' | 'delivery'>): DefaultJobOptions {
  return {
    attempts: config.delivery.attempts,
    backoff: { type: JITTERED_BACKOFF },
    ...retention(config),
  };
}

export function orderJobOptions(config: Pick<AppConfig, 'jobs'>): DefaultJobOptions {
  return { attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, ...retention(config) };
}

/**
 * Worker options for queues whose jobs retry with jittered backoff and may be paused on a 429. BullMQ applies
 * queue.rateLimit() only when the worker has a limiter, so it gets one that never binds by itself.
 */
export function retryingWorkerOptions(config: Pick<AppConfig, 'delivery'> & Partial<Pick<AppConfig, 'locks'>>): Pick<WorkerOptions, 'limiter' | 'settings' | 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> {
  const { backoffMs, backoffMaxMs } = config.delivery;
  return {
    ...lockOptions(config),
    limiter: { max: 1_000_000, duration: 1_000 },
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string) =>
        type === JITTERED_BACKOFF ? jitteredBackoff(attemptsMade, backoffMs, backoffMaxMs) : backoffMs,
    },
  };
}

/** The job lock and stalled-job check (configurable; BullMQ's defaults are 30 s / 30 s / 1). */
export function lockOptions(config: Partial<Pick<AppConfig, 'locks'>>): Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'> {
  if (!config.locks) return {};
  return { lockDuration: config.locks.lockDurationMs, stalledInterval: config.locks.stalledIntervalMs, maxStalledCount: config.locks.maxStalledCount };
}

/**
 * Entries kept in each queue's BullMQ event stream (BullMQ's default: 10,000). Nothing of ours reads the stream (the
 * stalled-out watcher looks at the failed set instead), so it only costs memory: ~10,000 × ~150 bytes per queue by
 * default. Kept small, not zero, so an operator's own QueueEvents can still follow recent events.
 */
export const EVENTS_MAX_LEN = 1_000;

/**
 * Options of every BullMQ Queue of ours (writers and readers alike): where the queue's keys live (REDIS_KEY_LAYOUT,
 * src/queues/keyspace.ts) and its event-stream cap. Every Queue writes the cap into the queue's meta hash when it
 * opens, so a Queue opened without it would put BullMQ's default back.
 */
export function queueAt(keys: Keyspace, queue: string): Pick<QueueOptions, 'prefix' | 'streams'> {
  return { prefix: keys.queuePrefix(queue), streams: { events: { maxLen: EVENTS_MAX_LEN } } };
}

/** Where a Worker finds its queue's keys (REDIS_KEY_LAYOUT). */
export function workerAt(keys: Keyspace, queue: string): Pick<WorkerOptions, 'prefix'> {
  return { prefix: keys.queuePrefix(queue) };
}
