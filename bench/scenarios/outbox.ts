import { Queue } from 'bullmq';
import { QUEUES } from '../../src/queues/names.js';
import { missingDatabase, startDatabase, type DatabaseKind } from '../../test/support/databases.js';
import { createOutboxTable, insertPayloads, pendingCount, sqlClient, type SqlClient } from '../../test/support/outbox.js';
import { sleep, startWorkerProcess } from '../harness/processes.js';
import { percentile, round } from '../harness/stats.js';
import type { BenchContext, Scenario } from '../harness/types.js';
import { benchEvent, freshRun } from '../harness/workload.js';

/**
 * Flags: --n (backlog rows for the throughput figure, default 20000), --rate (committed rows/s for the latency
 * figure, default 50), --seconds (latency run length, default 10).
 */

interface Throughput { db: string; batch: number; rows: number; seconds: number; rowsPerSec: number }
interface Latency { label: string; rows: number; p50: number; p99: number; max: number }

export const outbox: Scenario = {
  name: 'outbox',
  title: 'Outbox relay: rows/s relayed, commit → enqueue latency',
  method:
    'Per database (a private PostgreSQL and MariaDB server, the table from docs/outbox.md): a backlog of 20,000 committed '
    + 'rows (inserted 500 per transaction before the relay starts), then one relay process (workers/outbox-relay.ts, '
    + 'mark mode, batches of 100 (the default) and of 500) started; rows/s = rows ÷ the time from the relay\'s readiness to the '
    + 'last row being in the queue. Latency: with the relay idle and polling, one row is committed every 20 ms (50/s) for '
    + '10 s, each in its own transaction; commit → enqueue = the BullMQ job\'s timestamp (set when the relay added it) − '
    + 'the time COMMIT returned to the writer (same clock, 1 ms resolution). PostgreSQL is measured twice: polling '
    + '(OUTBOX_POLL_EVERY=500ms) and woken by the documented NOTIFY trigger (OUTBOX_LISTEN=true).',
  async run(ctx) {
    const backlog = Number(ctx.opts.n ?? 20_000);
    const rate = Number(ctx.opts.rate ?? 50);
    const seconds = Number(ctx.opts.seconds ?? 10);
    const throughputs: Throughput[] = [];
    const latencies: Latency[] = [];
    const skipped: string[] = [];
    for (const kind of ['postgres', 'mariadb'] as DatabaseKind[]) {
      const missing = missingDatabase(kind);
      if (missing) {
        skipped.push(`${kind}: ${missing}`);
        continue;
      }
      const db = await startDatabase(kind);
      const sql = await sqlClient(db);
      try {
        for (const batch of [100, 500]) throughputs.push(await relayBacklog(ctx, kind, db.url, sql, backlog, batch));
        latencies.push(await commitToEnqueue(ctx, `${kind}, polling every 500 ms`, db.url, sql, rate, seconds, {}));
        if (kind === 'postgres') latencies.push(await commitToEnqueue(ctx, 'postgres, LISTEN/NOTIFY', db.url, sql, rate, seconds, { OUTBOX_LISTEN: 'true' }));
      } finally {
        await sql.close();
        await db.stop();
      }
    }
    for (const t of throughputs) ctx.log(`outbox ${t.db}, batches of ${t.batch}: ${t.rowsPerSec} rows/s`);
    for (const l of latencies) ctx.log(`outbox ${l.label}: commit → enqueue p50 ${l.p50} ms, p99 ${l.p99} ms`);
    const rowsPerSec = (db: string, batch: number) => throughputs.find((t) => t.db === db && t.batch === batch)?.rowsPerSec ?? null;
    const figure = (label: string) => latencies.find((l) => l.label.startsWith(label));
    const pg = figure('postgres, polling');
    const listen = figure('postgres, LISTEN');
    const maria = figure('mariadb');
    return {
      scenario: 'outbox',
      figures: {
        postgres_rows_per_s: rowsPerSec('postgres', 100), mariadb_rows_per_s: rowsPerSec('mariadb', 100),
        postgres_batch500_rows_per_s: rowsPerSec('postgres', 500), mariadb_batch500_rows_per_s: rowsPerSec('mariadb', 500),
        postgres_poll_p50_ms: pg?.p50 ?? null, postgres_poll_p99_ms: pg?.p99 ?? null,
        postgres_listen_p50_ms: listen?.p50 ?? null, postgres_listen_p99_ms: listen?.p99 ?? null,
        mariadb_poll_p50_ms: maria?.p50 ?? null, mariadb_poll_p99_ms: maria?.p99 ?? null,
      },
      goals: [
        {
          goal: 'a committed row is enqueued within OUTBOX_POLL_EVERY (500 ms): p99 commit → enqueue',
          measured: latencies.filter((l) => !l.label.includes('LISTEN')).map((l) => `${l.label.split(',')[0]} ${l.p99} ms`).join(', ') || 'not run',
          met: latencies.length ? latencies.filter((l) => !l.label.includes('LISTEN')).every((l) => l.p99 <= 500 + 100) : null,
        },
      ],
      table: {
        head: ['measurement', 'rows', 'rows/s', 'p50 ms', 'p99 ms', 'max ms'],
        rows: [
          ...throughputs.map((t) => [`${t.db}: backlog relayed by 1 relay, OUTBOX_BATCH_SIZE=${t.batch}`, t.rows, t.rowsPerSec, '', '', '']),
          ...latencies.map((l) => [`${l.label}: commit → enqueue`, l.rows, '', l.p50, l.p99, l.max]),
        ],
      },
      notes: [
        'The goal allows one batch (≤ 100 ms here) on top of the poll interval: a row committed just after a poll waits for the next one, then for its batch.',
        'Each relayed batch is one orderPaidBulk() call (validation, idempotency MGET, addBulk, idempotency keys) inside one database transaction; the producer\'s bulk enqueue is most of a batch\'s time, so larger batches relay faster.',
        'One relay process; replicas share the table (FOR UPDATE SKIP LOCKED), so a backlog drains faster with more of them until the database or Redis is the limit.',
        ...skipped.map((s) => `Not measured: ${s}.`),
      ],
      runs: [...throughputs, ...latencies],
    };
  },
};

async function startRelay(ctx: BenchContext, name: string, url: string, prefix: string, extra: Record<string, string>) {
  return startWorkerProcess('workers/outbox-relay.ts', {
    name, runtime: ctx.runtime, logDir: ctx.logDir, profileDir: ctx.profileDir,
    env: { REDIS_URL: ctx.redis.url, QUEUE_PREFIX: prefix, OUTBOX_DATABASE_URL: url, LOG_LEVEL: 'warn', ...extra },
  });
}

async function relayBacklog(ctx: BenchContext, kind: DatabaseKind, url: string, sql: SqlClient, rows: number, batch: number): Promise<Throughput> {
  await ctx.redis.flush();
  await createOutboxTable(sql);
  const run = freshRun(`outbox-${kind}`);
  for (let i = 0; i < rows; i += 500) {
    await insertPayloads(sql, Array.from({ length: Math.min(500, rows - i) }, (_, k) => JSON.stringify(benchEvent(run, i + k))));
  }
  const prefix = `bench-${run}`;
  const queue = new Queue(QUEUES.orders, { connection: ctx.redis.client, prefix });
  const relay = await startRelay(ctx, `outbox-relay-${kind}-backlog-${batch}`, url, prefix, { OUTBOX_BATCH_SIZE: String(batch) });
  const started = Date.now();
  try {
    for (;;) {
      if ((await queue.count()) >= rows) break;
      if (Date.now() - started > 600_000) throw new Error(`backlog not relayed in 10 min (${await pendingCount(sql)} pending)`);
      await sleep(20);
    }
    const seconds = (Date.now() - started) / 1000;
    return { db: kind, batch, rows, seconds: round(seconds, 2), rowsPerSec: Math.round(rows / seconds) };
  } finally {
    await relay.stop();
    await queue.close();
  }
}

async function commitToEnqueue(ctx: BenchContext, label: string, url: string, sql: SqlClient, rate: number, seconds: number, extra: Record<string, string>): Promise<Latency> {
  await ctx.redis.flush();
  await createOutboxTable(sql);
  const run = freshRun('outbox-lat');
  const prefix = `bench-${run}`;
  const queue = new Queue(QUEUES.orders, { connection: ctx.redis.client, prefix });
  const relay = await startRelay(ctx, `outbox-relay-${label.replace(/\W+/g, '-')}`, url, prefix, extra);
  const committedAt = new Map<string, number>();
  try {
    await sleep(1_000);
    const total = Math.round(rate * seconds);
    const every = 1000 / rate;
    const start = Date.now();
    for (let i = 0; i < total; i++) {
      const due = start + i * every;
      if (due > Date.now()) await sleep(due - Date.now());
      const event = benchEvent(run, i);
      await sql.query('BEGIN');
      await insertPayloads(sql, [JSON.stringify(event)]);
      await sql.query('COMMIT');
      committedAt.set(event.orderId, Date.now());
    }
    const deadline = Date.now() + 30_000;
    while ((await queue.count()) < total && Date.now() < deadline) await sleep(50);
    const jobs = await queue.getJobs(['wait'], 0, -1);
    const latencies = jobs.map((j) => j.timestamp - committedAt.get((j.data as { orderId: string }).orderId)!).filter(Number.isFinite);
    if (latencies.length !== total) throw new Error(`${label}: ${latencies.length} of ${total} rows reached the queue`);
    return { label, rows: total, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) };
  } finally {
    await relay.stop();
    await queue.close();
  }
}
