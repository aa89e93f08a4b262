import { Counter, Gauge, Histogram } from 'prom-client';
import type { Metrics } from '../observability/metrics.js';
import type { OutboxStore } from './store.js';

/** The relay's metrics, on the process registry; table figures are read at scrape time like the queue depths. */
export class OutboxMetrics {
  readonly rows: Counter<'outcome'>;
  readonly batchSeconds: Histogram;
  readonly purged: Counter;
  readonly pending: Gauge;
  readonly failed: Gauge;
  readonly oldestPending: Gauge;
  readonly databaseUp: Gauge;
  readonly claiming: Gauge;

  constructor(metrics: Metrics, store: OutboxStore) {
    const registers = [metrics.registry];
    this.rows = new Counter({ name: 'order_notify_outbox_rows_total', help: 'Outbox rows relayed, by outcome (enqueued, duplicate: already in the queue, failed: set aside).', labelNames: ['outcome'], registers });
    this.batchSeconds = new Histogram({ name: 'order_notify_outbox_batch_duration_seconds', help: 'One claim → enqueue → mark transaction.', registers, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5] });
    this.purged = new Counter({ name: 'order_notify_outbox_purged_rows_total', help: 'Processed rows deleted after OUTBOX_RETENTION.', registers });
    this.pending = new Gauge({ name: 'order_notify_outbox_pending_rows', help: 'Rows waiting to be relayed, read at scrape time.', registers });
    this.failed = new Gauge({ name: 'order_notify_outbox_failed_rows', help: 'Rows set aside (failed_at set) for a human, read at scrape time.', registers });
    this.oldestPending = new Gauge({ name: 'order_notify_outbox_oldest_pending_seconds', help: 'Age of the oldest pending row, read at scrape time.', registers });
    this.databaseUp = new Gauge({ name: 'order_notify_outbox_database_up', help: '1 when the last scrape could read the outbox table, else 0.', registers });
    this.claiming = new Gauge({ name: 'order_notify_outbox_claiming', help: '1 while the relay claims rows; 0 while it waits for Redis or the database.', registers });
    metrics.onScrape(async () => {
      try {
        const s = await withDeadline(store.stats(), 2_000);
        this.pending.set(s.pending);
        this.failed.set(s.failed);
        this.oldestPending.set(s.oldestPendingSeconds);
        this.databaseUp.set(1);
      } catch (e) {
        this.databaseUp.set(0);
        throw e;
      }
    });
  }
}

export async function withDeadline<T>(work: Promise<T>, ms: number, what = 'outbox database'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}
