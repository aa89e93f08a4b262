import type { Worker } from 'bullmq';
import type { Logger } from './logger.js';

/**
 * worker.close() waits for active jobs with no limit of its own. After the timeout we stop waiting: the process
 * goes on to close Redis and exit, the cut-off jobs keep their lock until it expires, then BullMQ's stalled-job
 * check hands them to another worker, and the delivery ledger keeps an already-acknowledged one from being sent
 * twice. (worker.close(true) cannot help here: BullMQ keeps one closing promise, so a second call returns the
 * pending graceful close; and while Redis is away the graceful close never returns at all.)
 */
export async function closeWorker(worker: Worker, timeoutMs: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closing = worker.close();
  const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
  const result = await Promise.race([closing.then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    closing.catch(() => undefined);
    logger.warn({ timeoutMs }, 'active jobs did not finish in time; leaving them to stalled-job recovery');
  }
}
