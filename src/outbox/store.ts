/**
 * What the relay needs from the monolith's database, one implementation per dialect (postgres.ts, mysql.ts).
 * Drivers are imported only when a store is opened, so nothing else in the package loads them.
 */
export interface OutboxRow {
  /** The row's primary key, as text (BIGINT does not fit a JS number in general). */
  id: string;
  /** The event column as text; parsed and validated by the relay. */
  payload: string;
}

export interface BatchOutcome {
  /** Enqueued (or already in the queue): marked processed or deleted, per OUTBOX_AFTER_ENQUEUE. */
  done: string[];
  /** Set aside for a human: failed_at + error, never claimed again. */
  failed: Array<{ id: string; error: string }>;
}

export interface OutboxStats {
  pending: number;
  failed: number;
  /** Age of the oldest pending row (0 when none). */
  oldestPendingSeconds: number;
}

export interface OutboxStore {
  readonly dialect: 'postgres' | 'mysql';
  /**
   * One database transaction: lock up to `limit` pending rows (FOR UPDATE SKIP LOCKED, so replicas never claim the
   * same row), hand them to `handle` (which enqueues), record its outcome, commit. When `handle` throws, the
   * transaction rolls back and every row stays pending. Resolves with the number of rows claimed.
   */
  claimBatch(limit: number, handle: (rows: OutboxRow[]) => Promise<BatchOutcome>): Promise<number>;
  /** Deletes up to `limit` rows processed more than `olderThanMs` ago; resolves with how many. */
  purgeProcessed(olderThanMs: number, limit: number): Promise<number>;
  stats(): Promise<OutboxStats>;
  /** Calls `wake` when the monolith signals new rows (PostgreSQL LISTEN); a no-op elsewhere. */
  listen(channel: string, wake: () => void): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  url: string;
  table: string;
  afterEnqueue: 'mark' | 'delete';
  /** Reports connection-level problems of background connections (LISTEN), for the log. */
  onError?(err: Error): void;
}

/** The longest error text kept in the error column: enough for every field message, bounded for the DB. */
export const MAX_ERROR_CHARS = 2_000;

export async function openOutboxStore(opts: StoreOptions): Promise<OutboxStore> {
  if (/^postgres(ql)?:/.test(opts.url)) {
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore(opts);
  }
  const { openMysqlStore } = await import('./mysql.js');
  return openMysqlStore(opts);
}

/** A validated `table` or `schema.table` (config checks the shape), quoted for the dialect. */
export function quoteTable(table: string, quote: '"' | '`'): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) throw new Error(`invalid outbox table name "${table}"`);
  return table.split('.').map((part) => `${quote}${part}${quote}`).join('.');
}
