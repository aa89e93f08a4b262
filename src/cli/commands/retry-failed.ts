import { EXIT, type ExitCode } from '../../runtime/exit-codes.js';
import type { CliIO } from '../io.js';
import { withDeliveryQueues } from './delivery-queues.js';

const PAGE = 500;

/**
 * `retry-failed [--vendor V]`: moves failed delivery jobs back to wait with their attempt count reset, so each
 * gets the full retry envelope again (queue.retryJobs would keep the count and fail them after one try). The ids
 * are read first, so a job that fails again at once is not picked up twice. The delivery ledger keeps any that
 * did reach the vendor from being sent twice.
 */
export async function retryFailedCommand(io: CliIO, opts: { vendor?: string; json?: boolean }): Promise<ExitCode> {
  return withDeliveryQueues(io, opts.vendor, async (queues) => {
    const counts: Record<string, number> = {};
    let skipped = 0;
    for (const { vendor, queue } of queues) {
      const ids = await queue.getRanges(['failed'], 0, -1);
      counts[vendor] ??= 0; // a partitioned vendor has several queues
      for (let i = 0; i < ids.length; i += PAGE) {
        await Promise.all(ids.slice(i, i + PAGE).map(async (id) => {
          const job = await queue.getJob(id);
          try {
            await job!.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
            counts[vendor]! += 1;
          } catch {
            skipped += 1; // removed, or retried by someone else meanwhile
          }
        }));
      }
    }
    const retried = Object.values(counts).reduce((a, b) => a + b, 0);
    if (opts.json) io.stdout.write(`${JSON.stringify({ retried, byVendor: counts, skipped })}\n`);
    else {
      const detail = Object.entries(counts).filter(([, n]) => n > 0).map(([v, n]) => `${v} ${n}`).join(', ');
      io.stdout.write(`retried ${retried} failed delivery job(s)${detail ? ` (${detail})` : ''}${skipped ? `; ${skipped} skipped (no longer failed)` : ''}\n`);
    }
    return EXIT.ok;
  });
}
