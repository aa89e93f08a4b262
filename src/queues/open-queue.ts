import { Queue, type QueueOptions } from 'bullmq';
import type { Logger } from 'pino';

/**
 * A BullMQ Queue whose connection errors become one structured log line. Without a listener, BullMQ prints a raw
 * stack trace to stderr on every reconnect attempt while Redis is down.
 */
export function openQueue(name: string, opts: QueueOptions, logger: Logger): Queue {
  const queue = new Queue(name, opts);
  queue.on('error', (err) => logger.warn({ queue: name, err: err.message }, 'queue connection error'));
  return queue;
}
