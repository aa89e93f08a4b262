import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUES } from '../../src/queues/names.js';
import type { DatabaseKind, TestDatabase } from './databases.js';

/**
 * The monolith's side of the outbox in tests: one SQL client over both dialects (`?` placeholders, turned into $n
 * for PostgreSQL), the DDL exactly as docs/outbox.md prints it, and what the orders queue holds.
 */
export interface SqlClient {
  kind: DatabaseKind;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function sqlClient(db: TestDatabase): Promise<SqlClient> {
  if (db.kind === 'postgres') {
    const { default: pg } = await import('pg');
    const c = new pg.Client({ connectionString: db.url });
    c.on('error', () => {});
    await c.connect();
    return {
      kind: db.kind,
      async query<T>(sql: string, params: unknown[] = []) {
        let n = 0;
        const text = params.length ? sql.replace(/\?/g, () => `$${++n}`) : sql;
        return (await c.query(text, params)).rows as T[];
      },
      close: () => c.end().catch(() => undefined),
    };
  }
  const { default: mysql } = await import('mysql2/promise');
  const c = await mysql.createConnection({ uri: db.url, multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true });
  c.on('error', () => {});
  return {
    kind: db.kind,
    async query<T>(sql: string, params: unknown[] = []) {
      const [rows] = await c.query(sql, params);
      return (Array.isArray(rows) ? rows : []) as T[];
    },
    close: () => c.end().catch(() => undefined),
  };
}

/** The DDL block of docs/outbox.md for this database (so the tests prove the documented table works). */
export function documentedDdl(kind: DatabaseKind): string {
  const doc = readFileSync(new URL('../../docs/outbox.md', import.meta.url), 'utf8');
  const marker = kind === 'postgres' ? '-- order-notify outbox: PostgreSQL' : '-- order-notify outbox: MySQL/MariaDB';
  const block = doc.split('```sql\n').map((b) => b.split('\n```')[0]!).find((b) => b.startsWith(marker));
  if (!block) throw new Error(`docs/outbox.md has no sql block starting with "${marker}"`);
  return block;
}

/** Creates the documented outbox table (dropping an earlier one of the same name). */
export async function createOutboxTable(sql: SqlClient): Promise<void> {
  if (sql.kind === 'postgres') {
    await sql.query('DROP TABLE IF EXISTS order_notify_outbox; DROP FUNCTION IF EXISTS order_notify_outbox_notify() CASCADE');
    await sql.query(documentedDdl('postgres'));
  } else {
    await sql.query('DROP TABLE IF EXISTS order_notify_outbox');
    await sql.query(documentedDdl('mariadb'));
  }
}

/** One INSERT of raw payload texts (valid JSON or not), outside any transaction of the caller's. */
export async function insertPayloads(sql: SqlClient, payloads: string[]): Promise<void> {
  if (!payloads.length) return;
  await sql.query(`INSERT INTO order_notify_outbox (payload) VALUES ${payloads.map(() => '(?)').join(', ')}`, payloads);
}

export interface RowState { id: string; orderId: string | undefined; processed: boolean; failed: boolean; error: string | null }

export async function outboxRows(sql: SqlClient): Promise<RowState[]> {
  const rows = await sql.query<{ id: string | number; payload: string; processed_at: unknown; failed_at: unknown; error: string | null }>(
    'SELECT id, payload, processed_at, failed_at, error FROM order_notify_outbox ORDER BY id');
  return rows.map((r) => {
    let orderId: string | undefined;
    try { orderId = (JSON.parse(r.payload) as { orderId?: string }).orderId; } catch { /* invalid on purpose */ }
    return { id: String(r.id), orderId, processed: r.processed_at !== null, failed: r.failed_at !== null, error: r.error };
  });
}

export async function pendingCount(sql: SqlClient): Promise<number> {
  const [row] = await sql.query<{ n: string | number }>('SELECT COUNT(*) AS n FROM order_notify_outbox WHERE processed_at IS NULL AND failed_at IS NULL');
  return Number(row!.n);
}

/** Every job of the orders queue (no fan-out runs in these tests, so they all wait) by order id, with repeats. */
export async function queuedOrderIds(connection: Redis, prefix: string): Promise<string[]> {
  const queue = new Queue(QUEUES.orders, { connection, prefix });
  try {
    const jobs = await queue.getJobs(['wait', 'active', 'delayed', 'completed', 'failed', 'prioritized']);
    return jobs.filter(Boolean).map((j) => (j.data as { orderId: string }).orderId);
  } finally {
    await queue.close();
  }
}

export async function queuedCount(connection: Redis, prefix: string): Promise<number> {
  const queue = new Queue(QUEUES.orders, { connection, prefix });
  try {
    return await queue.count();
  } finally {
    await queue.close();
  }
}

/** Order ids that appear more than once. */
export function repeated(ids: string[]): string[] {
  const seen = new Set<string>();
  return [...new Set(ids.filter((id) => (seen.has(id) ? true : (seen.add(id), false))))];
}

/** The relay's environment: a private Redis and prefix, the test database, fast polling. */
export function relayEnv(redisUrl: string, prefix: string, db: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, OUTBOX_DATABASE_URL: db.url, OUTBOX_POLL_EVERY: '100ms', LOG_LEVEL: 'warn', ...extra };
}

/** A metric's value from a Prometheus text exposition (0 when absent). */
export function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ')[1]) : 0;
}
