import type { Queue, Worker } from 'bullmq';
import { invalidJob } from '../delivery/outcome.js';
import { issuesText } from '../events/zod-issues.js';
import { z } from 'zod';
import type { AppConfig } from '../config/env.js';
import type { RedisConnection } from '../queues/connection.js';
import { JOB_NAMES, QUEUES } from '../queues/names.js';
import { openWorker } from '../queues/open-queue.js';
import { workerAt } from '../queues/options.js';
import { closeWorker } from '../runtime/close-worker.js';
import type { Logger } from '../runtime/logger.js';
import type { FallbackChains } from './chains.js';

const deadlineJobSchema = z.object({
  orderId: z.string().min(1),
  deliveryId: z.string().min(1),
  ruleId: z.string().min(1),
  afterMs: z.number().int().positive(),
});

/** The one sweep scheduler id: every replica upserts it, so there is one. */
export const FALLBACK_SWEEP_SCHEDULER_ID = 'fallback-sweep';
export const FALLBACK_SWEEP_EVERY_MS = 30_000;

export async function upsertSweepScheduler(queue: Queue, everyMs = FALLBACK_SWEEP_EVERY_MS): Promise<void> {
  await queue.upsertJobScheduler(FALLBACK_SWEEP_SCHEDULER_ID, { every: everyMs }, {
    name: JOB_NAMES.fallbackSweep, data: {}, opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
  });
}

/**
 * Runs the delayed `after` checks of fallback chains (queue `fallback-deadlines`), and every 30 s a sweep that
 * finishes decisions to fire whose process died before adding the job. It lives with the fan-out, which every
 * deployment runs. A check whose link was delivered meanwhile (or whose chain moved on) does nothing.
 */
export function createDeadlineWorker(deps: { config: AppConfig; connection: RedisConnection; chains: FallbackChains; logger: Logger; autorun?: boolean }): { worker: Worker; close(timeoutMs?: number): Promise<void> } {
  const logger = deps.logger.child({ worker: 'fallback-deadlines' });
  void upsertSweepScheduler(deps.chains.deadlineQueue()).catch((err: unknown) => logger.warn({ err }, 'could not schedule the fallback sweep'));
  const worker = openWorker(QUEUES.fallbackDeadlines, async (job) => {
    if (job.name === JOB_NAMES.fallbackSweep) {
      const empty = typeof job.data === 'object' && job.data !== null && !Array.isArray(job.data) && Object.keys(job.data as object).length === 0;
      if (!empty) throw invalidJob(job, 'a sweep carries no data');
      return { fired: await deps.chains.sweep() };
    }
    const parsed = deadlineJobSchema.safeParse(job.data);
    if (job.name !== JOB_NAMES.fallbackDeadline || !parsed.success) {
      const fields = parsed.success ? `name: is "${job.name}", expected "${JOB_NAMES.fallbackDeadline}"`
        : issuesText(parsed.error);
      throw invalidJob(job, fields);
    }
    const action = await deps.chains.onDeadline(parsed.data);
    logger.debug({ orderId: parsed.data.orderId, rule: parsed.data.ruleId, action }, 'fallback deadline checked');
    return { action };
  }, { connection: deps.connection, ...workerAt(deps.config.keys, QUEUES.fallbackDeadlines), concurrency: 10, autorun: deps.autorun ?? true }, logger);
  return {
    worker,
    close: (timeoutMs = deps.config.shutdownTimeoutMs) => closeWorker(worker, timeoutMs, logger),
  };
}
