import { EXIT, type ExitCode } from '../../runtime/exit-codes.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { formatTable } from '../table.js';
import { withDeliveryQueues } from './delivery-queues.js';

/** `failed [--vendor V]`: failed delivery jobs, newest first, with the reason a person can act on. */
export async function failedCommand(io: CliIO, opts: { vendor?: string; limit: string; json?: boolean }): Promise<ExitCode> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a positive whole number, got "${opts.limit}"`);
  return withDeliveryQueues(io, opts.vendor, async (queues, { redactor }) => {
    let total = 0;
    const rows: Array<Record<string, unknown>> = [];
    for (const { vendor, queue } of queues) {
      total += await queue.getFailedCount();
      for (const job of await queue.getFailed(0, limit - 1)) {
        const data = (job.data ?? {}) as { orderId?: string; ruleId?: string };
        rows.push({
          jobId: job.id, vendor, orderId: data.orderId, rule: data.ruleId, attempts: job.attemptsMade,
          failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
          reason: redactor.text(job.failedReason ?? ''),
        });
      }
    }
    rows.sort((a, b) => String(b.failedAt ?? '').localeCompare(String(a.failedAt ?? '')));
    const shown = rows.slice(0, limit);
    if (opts.json) {
      io.stdout.write(`${JSON.stringify({ total, jobs: shown }, null, 2)}\n`);
      return EXIT.ok;
    }
    if (!shown.length) {
      io.stdout.write(`no failed delivery jobs${opts.vendor ? ` for ${opts.vendor}` : ''}\n`);
      return EXIT.ok;
    }
    io.stdout.write(`${formatTable(shown, [
      { key: 'jobId', title: 'JOB ID', max: 80 }, { key: 'vendor', title: 'VENDOR' }, { key: 'orderId', title: 'ORDER' },
      { key: 'rule', title: 'RULE' }, { key: 'attempts', title: 'ATTEMPTS' }, { key: 'failedAt', title: 'FAILED AT' },
      { key: 'reason', title: 'REASON', max: 120 },
    ])}\n`);
    io.stdout.write(`${total} failed delivery job(s)${total > shown.length ? `, showing ${shown.length} (--limit)` : ''}\n`);
    return EXIT.ok;
  });
}
