import type { Worker } from 'bullmq';
import type { Logger } from './logger.js';

/**
 * worker.close() waits for active jobs with no limit of its own. After the timeout we force it: the cut-off jobs
 * keep their lock until it expires, then BullMQ's stalled-job check hands them to another worker, and the
 * delivery ledger keeps an already-acknowledged one from being sent twice.
 */
export async function closeWorker(worker: Worker, timeoutMs: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
  const result = await Promise.race([worker.close().then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    logger.warn({ timeoutMs }, 'active jobs did not finish in time; leaving them to stalled-job recovery');
    await worker.close(true);
  }
}
