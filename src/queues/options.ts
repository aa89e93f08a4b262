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
 * Where a queue's keys live: every BullMQ Queue, Worker and reader of ours opens a queue through this, so the
 * REDIS_KEY_LAYOUT decides one place (src/queues/keyspace.ts).
 */
export function queueAt(keys: Keyspace, queue: string): Pick<QueueOptions, 'prefix'> {
  return { prefix: keys.queuePrefix(queue) };
}
