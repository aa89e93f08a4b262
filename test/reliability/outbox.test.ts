import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { missingDatabase, startDatabase, type DatabaseKind, type TestDatabase } from '../support/databases.js';
import { testOrder } from '../support/orders.js';
import {
  createOutboxTable, insertPayloads, metricValue, outboxRows, pendingCount, queuedCount, queuedOrderIds, relayEnv, repeated, sqlClient,
  type SqlClient,
} from '../support/outbox.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor, sleep } from '../support/wait.js';

/**
 * The outbox relay's promises under faults, against real PostgreSQL and MariaDB servers and real relay processes
 * (workers/outbox-relay.ts): concurrent monolith transactions with rollbacks and 3 relays; a relay SIGKILLed after
 * its enqueue and before its commit; Redis away for 10 s; the database restarting.
 */
const KINDS: DatabaseKind[] = ['postgres', 'mariadb'];
const ENTRY = 'workers/outbox-relay.ts';
const ROWS = 10_000;
const WRITERS = 16;

for (const kind of KINDS) {
  const missing = missingDatabase(kind);
  if (missing) console.warn(`\n!!! SKIPPING the ${kind} outbox reliability tests: ${missing}\n`);

  describe.skipIf(Boolean(missing))(`outbox relay under faults on ${kind}`, () => {
    let db: TestDatabase;
    let redis: TestRedis;
    let sql: SqlClient;
    let monitor: Redis;
    const children: ChildWorker[] = [];
    let n = 0;
    const prefix = () => `outboxrel${kind}${++n}`;

    beforeAll(async () => {
      [db, redis] = await Promise.all([startDatabase(kind), startRedis()]);
      sql = await sqlClient(db);
      monitor = redis.client();
    });
    afterEach(async () => {
      for (const c of children.splice(0)) await c.kill('SIGKILL');
    });
    afterAll(async () => {
      await sql?.close();
      await Promise.all([db?.stop(), redis?.stop()]);
    });

    async function relay(p: string, extra: Record<string, string> = {}): Promise<ChildWorker> {
      const child = await startChildWorker(ENTRY, relayEnv(redis.url, p, db, extra), { readyTimeoutMs: 60_000 });
      children.push(child);
      return child;
    }
    const metrics = async (c: ChildWorker) => (await fetch(`${c.url}/metrics`)).text();

    it(`${ROWS.toLocaleString('en')} rows from concurrent transactions, some rolled back, 3 relay processes (one SIGKILLed mid-run): exactly the committed orders, once each`, async () => {
      await createOutboxTable(sql);
      const p = prefix();
      const relays = await Promise.all([relay(p), relay(p), relay(p)]);

      // The monolith: WRITERS connections, each running transactions of 1-8 rows; about 1 in 7 rolls back.
      const committed: string[] = [];
      const rolledBack: string[] = [];
      let next = 0;
      let seed = 19;
      const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
      const writers = Array.from({ length: WRITERS }, async () => {
        const conn = await sqlClient(db);
        try {
          while (next < ROWS) {
            const size = Math.min(1 + Math.floor(random() * 8), ROWS - next);
            const ids = Array.from({ length: size }, () => next++);
            const rollback = random() < 1 / 7;
            await conn.query('BEGIN');
            await insertPayloads(conn, ids.map((i) => JSON.stringify(testOrder('tx', i))));
            await conn.query(rollback ? 'ROLLBACK' : 'COMMIT');
            (rollback ? rolledBack : committed).push(...ids.map((i) => `tx-${i}`));
          }
        } finally {
          await conn.close();
        }
      });
      // A relay dies in the middle of the stream (almost surely inside a batch: they run back to back).
      await waitFor(async () => (await queuedCount(monitor, p)) >= ROWS / 4, 'a quarter of the rows relayed', 120_000, 20);
      await relays[0]!.kill('SIGKILL');
      await Promise.all(writers);
      await waitFor(async () => (await pendingCount(sql)) === 0, 'every committed row relayed', 120_000, 100);

      expect(committed.length + rolledBack.length).toBe(ROWS);
      expect(rolledBack.length).toBeGreaterThan(ROWS / 20);
      const queued = await queuedOrderIds(monitor, p);
      expect(repeated(queued)).toEqual([]);
      expect(queued.length).toBe(committed.length);
      expect(new Set(queued)).toEqual(new Set(committed));
      const rows = await outboxRows(sql);
      expect(rows.length).toBe(committed.length); // rolled-back rows never existed for anyone else
      expect(rows.filter((r) => !r.processed || r.failed)).toEqual([]);
      // The survivors shared the work without claiming a row twice: the only rows relayed twice are the killed
      // relay's uncommitted batch (at most one batch of 100), answered "already queued" by the producer.
      const texts = await Promise.all(relays.slice(1).map(metrics));
      for (const text of texts) expect(metricValue(text, 'order_notify_outbox_rows_total', 'outcome="enqueued"')).toBeGreaterThan(0);
      const relayedTwice = texts.reduce((sum, text) => sum + metricValue(text, 'order_notify_outbox_rows_total', 'outcome="duplicate"'), 0);
      expect(relayedTwice).toBeLessThanOrEqual(100);
    });

    it('a relay SIGKILLed after its enqueue and before its commit: 0 lost, 0 duplicate orders in the queue', async () => {
      await createOutboxTable(sql);
      const gate = await sqlClient(db);
      try {
        // A test-only trigger makes the relay's "mark processed" UPDATE wait on a lock this test holds, so the kill
        // lands exactly between the enqueue and the commit (the worst moment).
        await installGate(sql);
        await holdGate(gate);
        const p = prefix();
        const orders = Array.from({ length: 50 }, (_, i) => `kill-${i}`);
        await insertPayloads(sql, orders.map((_, i) => JSON.stringify(testOrder('kill', i))));
        const doomed = await relay(p);
        await waitFor(async () => (await queuedCount(monitor, p)) === 50, 'the batch enqueued by the first relay', 30_000);
        await sleep(300);
        expect(await pendingCount(sql)).toBe(50); // enqueued, not yet committed
        const exit = await doomed.kill('SIGKILL');
        expect(exit.signal).toBe('SIGKILL');
        await releaseGate(gate);
        await dropGate(sql);

        const heir = await relay(p);
        await waitFor(async () => (await pendingCount(sql)) === 0, 'the rolled-back batch relayed again', 30_000);
        const queued = await queuedOrderIds(monitor, p);
        expect(repeated(queued)).toEqual([]);
        expect(queued.sort()).toEqual([...orders].sort());
        // The heir really re-relayed all 50 rows, and the producer answered each with "already queued".
        const text = await metrics(heir);
        expect(metricValue(text, 'order_notify_outbox_rows_total', 'outcome="duplicate"')).toBe(50);
        expect(metricValue(text, 'order_notify_outbox_rows_total', 'outcome="enqueued"')).toBe(0);
        expect((await outboxRows(sql)).every((r) => r.processed)).toBe(true);
      } finally {
        await releaseGate(gate).catch(() => undefined);
        await gate.close();
      }
    });

    it('Redis down 10 s: rows wait in the table, the relay is not ready, then they flow by themselves', async () => {
      await createOutboxTable(sql);
      const p = prefix();
      const child = await relay(p);
      await insertPayloads(sql, Array.from({ length: 10 }, (_, i) => JSON.stringify(testOrder('before', i))));
      await waitFor(async () => (await pendingCount(sql)) === 0, 'rows relayed while Redis is up');

      await redis.stop({ keepData: true });
      const down = Date.now();
      await waitFor(async () => (await fetch(`${child.url}/readyz`)).status === 503, 'not ready while Redis is away');
      await insertPayloads(sql, Array.from({ length: 20 }, (_, i) => JSON.stringify(testOrder('during', i))));
      await sleep(10_000 - (Date.now() - down));
      expect(await pendingCount(sql)).toBe(20); // nothing marked done that was not enqueued
      const readyz = await fetch(`${child.url}/readyz`);
      expect(readyz.status).toBe(503);
      expect(await readyz.text()).toMatch(/redis/i);
      expect(child.exited()).toBe(false);

      await redis.restart();
      monitor = redis.client();
      await waitFor(async () => (await pendingCount(sql)) === 0, 'rows relayed after Redis came back', 30_000);
      const queued = await queuedOrderIds(monitor, p);
      expect(repeated(queued)).toEqual([]);
      expect(queued.length).toBe(30);
      expect(queued.filter((id) => id.startsWith('during-')).length).toBe(20);
      await waitFor(async () => (await fetch(`${child.url}/readyz`)).ok, 'ready again');
      expect(await child.kill('SIGTERM')).toEqual({ code: 0, signal: null }); // graceful stop
    });

    it('the database goes away in the middle of a batch and restarts: the relay survives, is not ready meanwhile, and loses nothing', async () => {
      await createOutboxTable(sql);
      const p = prefix();
      const child = await relay(p);
      await insertPayloads(sql, Array.from({ length: 5 }, (_, i) => JSON.stringify(testOrder('dbup', i))));
      await waitFor(async () => (await pendingCount(sql)) === 0, 'rows relayed before the restart');

      // Redis holds writes for 3 s, so the relay sits inside its claim transaction (rows locked, enqueue pending)
      // when the database shuts down and drops its connection.
      await monitor.call('CLIENT', 'PAUSE', '3000', 'WRITE');
      await insertPayloads(sql, Array.from({ length: 5 }, (_, i) => JSON.stringify(testOrder('dbmid', i))));
      await sleep(600);
      await sql.close();
      await db.stop({ keepData: true });
      // First the paused Redis may be the reason (the enqueue times out), then the database is.
      await waitFor(async () => {
        const r = await fetch(`${child.url}/readyz`);
        return r.status === 503 && /database unavailable/.test(await r.text());
      }, 'not ready, naming the database');
      await sleep(2_000);
      expect(child.exited()).toBe(false);

      await db.restart();
      sql = await sqlClient(db);
      await insertPayloads(sql, Array.from({ length: 5 }, (_, i) => JSON.stringify(testOrder('dbback', i))));
      await waitFor(async () => (await pendingCount(sql)) === 0, 'rows relayed after the restart', 30_000);
      const queued = await queuedOrderIds(monitor, p);
      expect(repeated(queued)).toEqual([]);
      expect(queued.length).toBe(15);
      await waitFor(async () => (await fetch(`${child.url}/readyz`)).ok, 'ready again');
    });
  });
}

async function installGate(sql: SqlClient): Promise<void> {
  if (sql.kind === 'postgres') {
    await sql.query(`CREATE OR REPLACE FUNCTION outbox_test_gate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NULL; END $$`);
    await sql.query('CREATE TRIGGER outbox_test_gate BEFORE UPDATE ON order_notify_outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_test_gate()');
  } else {
    await sql.query("CREATE TRIGGER outbox_test_gate BEFORE UPDATE ON order_notify_outbox FOR EACH ROW SET @outbox_gate = GET_LOCK('outbox_test_gate', 60)");
  }
}
const holdGate = (c: SqlClient) => c.query(c.kind === 'postgres' ? 'SELECT pg_advisory_lock(4242)' : "SELECT GET_LOCK('outbox_test_gate', 10)");
const releaseGate = (c: SqlClient) => c.query(c.kind === 'postgres' ? 'SELECT pg_advisory_unlock(4242)' : "SELECT RELEASE_LOCK('outbox_test_gate')");
const dropGate = (c: SqlClient) => c.query(c.kind === 'postgres' ? 'DROP TRIGGER outbox_test_gate ON order_notify_outbox' : 'DROP TRIGGER outbox_test_gate');
