import type { Client, Pool, PoolClient } from 'pg';
import { MAX_ERROR_CHARS, quoteTable, type BatchOutcome, type OutboxRow, type OutboxStats, type OutboxStore, type StoreOptions } from './store.js';

/**
 * PostgreSQL through `pg` (node-postgres, the de-facto driver). A small pool: one connection claims, one serves
 * scrapes and the retention purge; LISTEN gets its own client because a pooled one may be handed to anything.
 */
export async function openPostgresStore(opts: StoreOptions): Promise<OutboxStore> {
  const { default: pg } = await import('pg');
  const table = quoteTable(opts.table, '"');
  const config = {
    connectionString: opts.url,
    application_name: 'order-notify-outbox-relay',
    connectionTimeoutMillis: 5_000,
    // A relay that hangs mid-batch (network cut) must not hold its row locks forever; a killed one loses its socket
    // and its transaction at once.
    idle_in_transaction_session_timeout: 60_000,
    statement_timeout: 30_000,
  };
  const pool: Pool = new pg.Pool({ ...config, max: 2, idleTimeoutMillis: 30_000 });
  pool.on('error', (err) => opts.onError?.(err)); // an idle connection dropped by the server: the pool replaces it
  let listener: Client | undefined;
  let closed = false;

  const pending = 'processed_at IS NULL AND failed_at IS NULL';

  async function claimBatch(limit: number, handle: (rows: OutboxRow[]) => Promise<BatchOutcome>): Promise<number> {
    const client: PoolClient = await pool.connect();
    let broken: Error | undefined;
    // pg-pool drops its error listener from a checked-out client: a server shutdown while the batch is enqueueing
    // would otherwise be an unhandled 'error' that kills the process. The next query then fails instead.
    const onError = (err: Error) => { broken = err; };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<OutboxRow>(
        `SELECT id::text AS id, payload::text AS payload FROM ${table} WHERE ${pending} ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit]);
      if (rows.length === 0) {
        await client.query('COMMIT');
        return 0;
      }
      const outcome = await handle(rows);
      if (outcome.done.length) {
        await client.query(opts.afterEnqueue === 'delete'
          ? `DELETE FROM ${table} WHERE id = ANY($1::bigint[])`
          : `UPDATE ${table} SET processed_at = now() WHERE id = ANY($1::bigint[])`, [outcome.done]);
      }
      if (outcome.failed.length) {
        await client.query(
          `UPDATE ${table} AS t SET failed_at = now(), error = f.error FROM unnest($1::bigint[], $2::text[]) AS f(id, error) WHERE t.id = f.id`,
          [outcome.failed.map((f) => f.id), outcome.failed.map((f) => f.error.slice(0, MAX_ERROR_CHARS))]);
      }
      await client.query('COMMIT');
      return rows.length;
    } catch (e) {
      await client.query('ROLLBACK').catch((err: Error) => { broken = err; });
      throw e;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  async function purgeProcessed(olderThanMs: number, limit: number): Promise<number> {
    const { rowCount } = await pool.query(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE processed_at < now() - make_interval(secs => $1) LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [olderThanMs / 1000, limit]);
    return rowCount ?? 0;
  }

  async function stats(): Promise<OutboxStats> {
    const { rows } = await pool.query<{ pending: string; failed: string; oldest: string | null }>(`SELECT
      (SELECT count(*) FROM ${table} WHERE ${pending}) AS pending,
      (SELECT count(*) FROM ${table} WHERE processed_at IS NULL AND failed_at IS NOT NULL) AS failed,
      (SELECT EXTRACT(EPOCH FROM now() - min(created_at)) FROM ${table} WHERE ${pending}) AS oldest`);
    const r = rows[0]!;
    return { pending: Number(r.pending), failed: Number(r.failed), oldestPendingSeconds: Math.max(0, Number(r.oldest ?? 0)) };
  }

  /** Keeps one LISTEN connection up, reconnecting after a second when it drops; polling covers the gap. */
  async function listen(channel: string, wake: () => void): Promise<void> {
    const connect = async (): Promise<void> => {
      if (closed) return;
      const client = new pg.Client({ ...config, statement_timeout: undefined, idle_in_transaction_session_timeout: undefined });
      listener = client;
      const retry = (err?: Error) => {
        if (err) opts.onError?.(err);
        client.removeAllListeners();
        client.on('error', () => {});
        client.end().catch(() => undefined);
        if (listener === client) listener = undefined;
        if (!closed) setTimeout(() => { connect().catch(() => undefined); }, 1_000).unref();
      };
      client.on('notification', () => wake());
      client.on('error', retry);
      client.on('end', () => { if (listener === client) retry(); });
      try {
        await client.connect();
        await client.query(`LISTEN ${channel}`); // channel is a validated identifier
        wake(); // rows may have arrived while not listening
      } catch (e) {
        retry(e as Error);
      }
    };
    await connect();
  }

  return {
    dialect: 'postgres',
    claimBatch,
    purgeProcessed,
    stats,
    listen,
    async close() {
      closed = true;
      const l = listener;
      listener = undefined;
      if (l) {
        l.removeAllListeners();
        l.on('error', () => {});
        await l.end().catch(() => undefined);
      }
      await pool.end().catch(() => undefined);
    },
  };
}
