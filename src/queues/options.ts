import type { DefaultJobOptions, WorkerOptions } from 'bullmq';
import { jitteredBackoff } from '../delivery/backoff.js';
import type { AppConfig } from '../config/env.js';

/** Retention so Redis does not grow forever (BullMQ keeps finished jobs forever by default). */
export function retention(config: Pick<AppConfig, 'jobs'>): Pick<DefaultJobOptions, 'removeOnComplete' | 'removeOnFail'> {
  return {
    removeOnComplete: { age: Math.ceil(config.jobs.keepCompletedMs / 1000), count: 100_000 },
    removeOnFail: { age: Math.ceil(config.jobs.keepFailedMs / 1000) },
  };
}

/** The backoff strategy name registered on every worker (see delivery/backoff.ts). */
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
export function retryingWorkerOptions(config: Pick<AppConfig, 'delivery'>): Pick<WorkerOptions, 'limiter' | 'settings'> {
  const { backoffMs, backoffMaxMs } = config.delivery;
  return {
    limiter: { max: 1_000_000, duration: 1_000 },
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string) =>
        type === JITTERED_BACKOFF ? jitteredBackoff(attemptsMade, backoffMs, backoffMaxMs) : backoffMs,
    },
  };
}
