import { Queue, Worker, type Processor, type QueueOptions, type WorkerOptions } from 'bullmq';
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

/** A BullMQ Worker whose errors (connection trouble, a failed lock renewal) become one structured log line. */
export function openWorker(name: string, processor: Processor, opts: WorkerOptions, logger: Logger): Worker {
  const worker = new Worker(name, processor, opts);
  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  return worker;
}
