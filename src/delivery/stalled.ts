import { QueueEvents } from 'bullmq';
import type { Logger } from 'pino';
import type { RedisConnection } from '../queues/connection.js';

/** BullMQ's failedReason for a job whose worker stopped more than maxStalledCount times while it was active. */
export const STALLED_OUT_REASON = 'job stalled more than allowable limit';

/**
 * Such a job is failed by BullMQ's stalled check inside Redis, without calling any of our code: listen on the
 * queue's event stream and hand each one to `onStalledOut` (every replica hears it; the handler must be idempotent).
 */
export function watchStalledOut(opts: {
  queueName: string; connection: RedisConnection; prefix: string; autorun: boolean; logger: Logger;
  onStalledOut(jobId: string): Promise<void>;
}): QueueEvents {
  const { queueName, connection, prefix, autorun, logger } = opts;
  const events = new QueueEvents(queueName, { connection, prefix, autorun });
  events.on('error', (err) => logger.warn({ err: err.message }, 'queue events connection error'));
  events.on('failed', ({ jobId, failedReason }) => {
    if (failedReason !== STALLED_OUT_REASON) return;
    void opts.onStalledOut(jobId).catch((e: unknown) => logger.error({ jobId, err: e instanceof Error ? e.message : String(e) }, 'could not record a stalled-out job'));
  });
  return events;
}
