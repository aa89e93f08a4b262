import type { Pool, PoolConnection, RowDataPacket, ResultSetHeader } from 'mysql2/promise';
import { MAX_ERROR_CHARS, quoteTable, type BatchOutcome, type OutboxRow, type OutboxStats, type OutboxStore, type StoreOptions } from './store.js';

/**
 * MySQL 8 / MariaDB 10.6+ through `mysql2` (the maintained driver with promises; both servers speak its protocol).
 * Every session runs READ COMMITTED: under InnoDB's default REPEATABLE READ the relay's locking read would take gap
 * locks and could stall the monolith's own INSERTs into the outbox, i.e. its payment transactions.
 */
export async function openMysqlStore(opts: StoreOptions): Promise<OutboxStore> {
  const { default: mysql } = await import('mysql2/promise');
  const table = quoteTable(opts.table, '`');
  const pool: Pool = mysql.createPool({
    uri: opts.url.replace(/^mariadb:/, 'mysql:'),
    connectionLimit: 2,
    connectTimeout: 5_000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4',
  });
  const prepared = new WeakSet<object>();
  /** A pooled connection with the session settings applied (once per physical connection). */
  async function session(): Promise<PoolConnection> {
    const conn = await pool.getConnection();
    if (!prepared.has(conn.connection)) {
      try {
        await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
        // A relay cut off mid-batch (network partition) must not hold its row locks for the default 8 hours.
        await conn.query('SET SESSION innodb_lock_wait_timeout = 30, SESSION wait_timeout = 120');
      } catch (e) {
        conn.destroy();
        throw e;
      }
      prepared.add(conn.connection);
    }
    return conn;
  }
  async function query<T extends RowDataPacket[] | ResultSetHeader>(sql: string, values: unknown[] = []): Promise<T> {
    const conn = await session();
    try {
      const [result] = await conn.query<T>(sql, values);
      return result;
    } finally {
      conn.release();
    }
  }

  const pending = 'processed_at IS NULL AND failed_at IS NULL';

  async function claimBatch(limit: number, handle: (rows: OutboxRow[]) => Promise<BatchOutcome>): Promise<number> {
    const conn = await session();
    let broken = false;
    try {
      await conn.beginTransaction();
      const [rows] = await conn.query<Array<RowDataPacket & OutboxRow>>(
        `SELECT CAST(id AS CHAR) AS id, CAST(payload AS CHAR) AS payload FROM ${table} WHERE ${pending} ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`, [limit]);
      if (rows.length === 0) {
        await conn.commit();
        return 0;
      }
      const outcome = await handle(rows.map((r) => ({ id: String(r.id), payload: String(r.payload) })));
      if (outcome.done.length) {
        await conn.query(opts.afterEnqueue === 'delete'
          ? `DELETE FROM ${table} WHERE id IN (?)`
          : `UPDATE ${table} SET processed_at = CURRENT_TIMESTAMP(6) WHERE id IN (?)`, [outcome.done]);
      }
      for (const f of outcome.failed) {
        await conn.query(`UPDATE ${table} SET failed_at = CURRENT_TIMESTAMP(6), error = ? WHERE id = ?`, [f.error.slice(0, MAX_ERROR_CHARS), f.id]);
      }
      await conn.commit();
      return rows.length;
    } catch (e) {
      await conn.rollback().catch(() => { broken = true; });
      throw e;
    } finally {
      if (broken) conn.destroy();
      else conn.release();
    }
  }

  async function purgeProcessed(olderThanMs: number, limit: number): Promise<number> {
    const result = await query<ResultSetHeader>(
      `DELETE FROM ${table} WHERE processed_at < CURRENT_TIMESTAMP(6) - INTERVAL ? MICROSECOND LIMIT ?`, [Math.round(olderThanMs * 1000), limit]);
    return result.affectedRows;
  }

  async function stats(): Promise<OutboxStats> {
    const rows = await query<RowDataPacket[]>(`SELECT
      (SELECT COUNT(*) FROM ${table} WHERE ${pending}) AS pending,
      (SELECT COUNT(*) FROM ${table} WHERE processed_at IS NULL AND failed_at IS NOT NULL) AS failed,
      (SELECT TIMESTAMPDIFF(MICROSECOND, MIN(created_at), CURRENT_TIMESTAMP(6)) FROM ${table} WHERE ${pending}) AS oldest_us`);
    const r = rows[0]!;
    return { pending: Number(r.pending), failed: Number(r.failed), oldestPendingSeconds: Math.max(0, Number(r.oldest_us ?? 0) / 1e6) };
  }

  return {
    dialect: 'mysql',
    claimBatch,
    purgeProcessed,
    stats,
    // MySQL has no LISTEN/NOTIFY: the relay polls every OUTBOX_POLL_EVERY.
    async listen() {},
    async close() {
      await pool.end().catch(() => undefined);
    },
  };
}
