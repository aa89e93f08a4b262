import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProcess, type RunningProcess } from '../../src/app/worker-process.js';
import { missingDatabase, startDatabase, type DatabaseKind, type TestDatabase } from '../support/databases.js';
import { testOrder } from '../support/orders.js';
import {
  createOutboxTable, insertPayloads, metricValue, outboxRows, pendingCount, queuedOrderIds, relayEnv, repeated, sqlClient, type SqlClient,
} from '../support/outbox.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

/**
 * The outbox relay in-process (the `outbox-relay` component through startProcess, with its probe port) against a
 * real database and a real Redis. The fault scenarios (3 relay processes, SIGKILL, Redis outage) are in
 * test/reliability/outbox.test.ts.
 */
const KINDS: DatabaseKind[] = ['postgres', 'mariadb'];
const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const order = (tag: string, n: number) => JSON.stringify(testOrder(tag, n));

for (const kind of KINDS) {
  const missing = missingDatabase(kind);
  if (missing) console.warn(`\n!!! SKIPPING the ${kind} outbox tests: ${missing}\n`);

  describe.skipIf(Boolean(missing))(`outbox relay on ${kind}`, () => {
    let db: TestDatabase;
    let redis: TestRedis;
    let sql: SqlClient;
    let monitor: Redis;
    const processes: RunningProcess[] = [];
    let n = 0;

    beforeAll(async () => {
      [db, redis] = await Promise.all([startDatabase(kind), startRedis()]);
      sql = await sqlClient(db);
      monitor = redis.client();
    });
    // Each test's relays stop with it: a leftover one would claim the next test's rows into its own queue.
    afterEach(async () => {
      for (const p of processes.splice(0)) await p.close();
    });
    afterAll(async () => {
      await sql?.close();
      await Promise.all([db?.stop(), redis?.stop()]);
    });

    async function relay(extra: Record<string, string> = {}): Promise<{ prefix: string; process: RunningProcess; get(path: string): Promise<Response> }> {
      const prefix = `outbox${kind}${++n}`;
      const env = { ...relayEnv(redis.url, prefix, db, extra), METRICS_PORT: '0', LOG_LEVEL: process.env.OUTBOX_TEST_LOG ?? 'silent' };
      const running = await startProcess(['outbox-relay'], { env, host: '127.0.0.1', logDestination: process.env.OUTBOX_TEST_LOG ? undefined : quiet });
      processes.push(running);
      return { prefix, process: running, get: (path) => fetch(`http://127.0.0.1:${running.probes!.port}${path}`) };
    }

    it('relays each order once, sets invalid rows aside with their error, and the rows behind them flow on', async () => {
      await createOutboxTable(sql);
      const notAnEvent = JSON.stringify({ orderId: 'bad-1', currency: 'baht', total: 1 });
      // Batches of 2 put a bad row at the head of a batch: it must not hold back what follows.
      await insertPayloads(sql, ['{"orderId": "broken', order('ok', 0), notAnEvent, order('ok', 1), order('ok', 2), order('ok', 0)]);
      const r = await relay({ OUTBOX_BATCH_SIZE: '2' });
      await waitFor(async () => (await pendingCount(sql)) === 0, 'every row relayed or set aside');

      const queued = await queuedOrderIds(monitor, r.prefix);
      expect(queued.sort()).toEqual(['ok-0', 'ok-1', 'ok-2']);
      const rows = await outboxRows(sql);
      expect(rows.map((row) => [row.orderId ?? null, row.processed, row.failed])).toEqual([
        [null, false, true], ['ok-0', true, false], ['bad-1', false, true], ['ok-1', true, false], ['ok-2', true, false], ['ok-0', true, false],
      ]);
      expect(rows[0]!.error).toMatch(/^payload is not valid JSON/);
      expect(rows[2]!.error).toMatch(/^invalid order\.paid event: /);
      for (const field of ['paidAt', 'currency', 'items', 'customer']) expect(rows[2]!.error).toContain(field);

      // Set-aside rows are never claimed again; later rows still flow.
      await insertPayloads(sql, [order('ok', 3)]);
      await waitFor(async () => (await pendingCount(sql)) === 0, 'the later row relayed');
      expect((await queuedOrderIds(monitor, r.prefix)).sort()).toEqual(['ok-0', 'ok-1', 'ok-2', 'ok-3']);
      const metrics = await (await r.get('/metrics')).text();
      expect(metricValue(metrics, 'order_notify_outbox_rows_total', 'outcome="enqueued"')).toBe(4);
      // The second row for ok-0 reached the producer and was answered "already queued".
      expect(metricValue(metrics, 'order_notify_outbox_rows_total', 'outcome="duplicate"')).toBe(1);
      expect(metricValue(metrics, 'order_notify_outbox_rows_total', 'outcome="failed"')).toBe(2);
      expect(metricValue(metrics, 'order_notify_outbox_failed_rows')).toBe(2);
      expect(metricValue(metrics, 'order_notify_outbox_pending_rows')).toBe(0);
      expect(metricValue(metrics, 'order_notify_outbox_database_up')).toBe(1);
      expect(metricValue(metrics, 'order_notify_events_enqueued_total', 'source="outbox",duplicate="false"')).toBe(4);
      expect((await r.get('/readyz')).status).toBe(200);
    });

    it('mark mode purges processed rows after OUTBOX_RETENTION; delete mode deletes them at once; set-aside rows stay', async () => {
      await createOutboxTable(sql);
      await insertPayloads(sql, [order('keep', 0), 'null', order('keep', 1)]);
      const marked = await relay({ OUTBOX_RETENTION: '1s' });
      await waitFor(async () => (await pendingCount(sql)) === 0, 'rows relayed');
      await waitFor(async () => (await outboxRows(sql)).length === 1, 'processed rows purged after 1 s', 20_000);
      const [left] = await outboxRows(sql);
      expect(left!.failed).toBe(true);
      expect((await queuedOrderIds(monitor, marked.prefix)).sort()).toEqual(['keep-0', 'keep-1']);
      expect(metricValue(await (await marked.get('/metrics')).text(), 'order_notify_outbox_purged_rows_total')).toBe(2);
      await marked.process.close();

      const deleting = await relay({ OUTBOX_AFTER_ENQUEUE: 'delete' });
      await insertPayloads(sql, [order('del', 0), order('del', 1), order('del', 2)]);
      await waitFor(async () => (await outboxRows(sql)).length === 1, 'relayed rows deleted');
      expect((await queuedOrderIds(monitor, deleting.prefix)).sort()).toEqual(['del-0', 'del-1', 'del-2']);
    });

    it('starts without its database, reports not ready naming it, and claims once it answers', async () => {
      await createOutboxTable(sql);
      await insertPayloads(sql, [order('late', 0)]);
      const closedPort = (await import('../support/ports.js')).freePort;
      const nowhere = db.url.replace(`:${db.port}/`, `:${await closedPort()}/`);
      const r = await relay({ OUTBOX_DATABASE_URL: nowhere });
      await waitFor(async () => (await r.get('/readyz')).status === 503, 'not ready without the database');
      expect(await (await r.get('/readyz')).text()).toMatch(/database unavailable/);
      expect(metricValue(await (await r.get('/metrics')).text(), 'order_notify_outbox_database_up')).toBe(0);
      expect(await pendingCount(sql)).toBe(1);
    });

    it.runIf(kind === 'postgres')('wakes on the documented NOTIFY trigger instead of waiting for the next poll', async () => {
      await createOutboxTable(sql);
      // An hour between polls: only the NOTIFY at commit can get the row out within the wait below.
      const r = await relay({ OUTBOX_POLL_EVERY: '1h', OUTBOX_LISTEN: 'true' });
      await new Promise((res) => setTimeout(res, 300)); // the first (empty) poll is over; the relay sleeps
      await sql.query('BEGIN');
      await insertPayloads(sql, [order('notify', 0), order('notify', 1)]);
      await sql.query('COMMIT');
      await waitFor(async () => (await queuedOrderIds(monitor, r.prefix)).length === 2, 'the notified rows enqueued', 10_000);
      expect(repeated(await queuedOrderIds(monitor, r.prefix))).toEqual([]);
      await waitFor(async () => (await pendingCount(sql)) === 0, 'rows marked');
    });
  });
}

describe('outbox relay without OUTBOX_DATABASE_URL', () => {
  it('is off: the process runs idle and ready and exports no outbox metrics', async () => {
    const redis = await startRedis();
    try {
      const running = await startProcess(['outbox-relay'], { env: { REDIS_URL: redis.url, METRICS_PORT: '0', LOG_LEVEL: 'silent' }, host: '127.0.0.1', logDestination: quiet });
      try {
        const base = `http://127.0.0.1:${running.probes!.port}`;
        expect((await fetch(`${base}/readyz`)).status).toBe(200);
        expect(await (await fetch(`${base}/metrics`)).text()).not.toContain('order_notify_outbox_');
      } finally {
        await running.close();
      }
    } finally {
      await redis.stop();
    }
  });
});
