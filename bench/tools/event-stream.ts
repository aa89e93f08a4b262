/**
 * `npx tsx bench/tools/event-stream.ts [--n 3000]`: what BullMQ's event streams cost per 1,000 deliveries, before
 * and after issue 16 (docs/scaling.md, "Stalled jobs without an event reader").
 * - before: a QueueEvents reader on the delivery queue (what src/delivery/stalled.ts used to keep) and BullMQ's
 *   default stream cap (10,000 entries per queue);
 * - after: no event reader (the stalled-out watcher looks at the failed set) and the cap of EVENTS_MAX_LEN.
 * Same code otherwise: producer → fan-out → Metabot worker → sandbox, one delivery per order, in this process.
 * Prints commandstats (XADD, XTRIM, XREAD, …) per 1,000 deliveries and the streams' length and memory.
 */
import { Writable } from 'node:stream';
import { Queue, QueueEvents } from 'bullmq';
import { startProcess } from '../../src/app/worker-process.js';
import { loadConfig } from '../../src/config/env.js';
import { createProducer } from '../../src/producer/producer.js';
import { QUEUES } from '../../src/queues/names.js';
import { EVENTS_MAX_LEN, queueAt } from '../../src/queues/options.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { sandboxEnv } from '../../src/sandbox/env.js';
import { testOrders } from '../../test/support/orders.js';
import { startBenchRedis } from '../harness/redis.js';
import { parseCommandStats } from '../harness/redis-work.js';

const nArg = process.argv.indexOf('--n');
const N = nArg > 0 ? Number(process.argv[nArg + 1]) : 3_000;
const WATCH = ['xadd', 'xtrim', 'xread', 'xreadgroup', 'xlen', 'zrangebyscore', 'hget', 'evalsha'];

const redis = await startBenchRedis();
const sandbox = await startSandbox();

async function run(mode: 'before' | 'after') {
  const prefix = `es-${mode}`;
  const env = {
    REDIS_URL: redis.url, QUEUE_PREFIX: prefix, ROUTES_FILE: 'test/reliability/fixtures/routes.yaml', ...sandboxEnv(sandbox),
    METABOT_RATE_LIMIT: '1000000/1s', METRICS_PORT: '0', LOG_LEVEL: 'warn', DASHBOARD_ENABLED: 'false', SHUTDOWN_TIMEOUT: '2s',
  };
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
  sandbox.reset();
  const proc = await startProcess(['fanout', 'metabot'], { env, host: '127.0.0.1', logDestination: new Writable({ write(_c, _e, cb) { cb(); } }) });
  const extra: Array<{ close(): Promise<void> }> = [];
  if (mode === 'before') {
    // BullMQ's default cap back in every queue's meta hash, and the event reader the old stalled.ts kept.
    for (const name of [QUEUES.orders, 'deliver-metabot', QUEUES.results, QUEUES.fallbackDeadlines]) {
      const q = new Queue(name, { connection: { url: redis.url }, ...queueAt(config.keys, name), streams: { events: { maxLen: 10_000 } } });
      await q.waitUntilReady();
      await new Promise((r) => setTimeout(r, 50)); // the meta write is async after ready
      extra.push(q);
    }
    const events = new QueueEvents('deliver-metabot', { connection: { url: redis.url }, prefix: config.keys.queuePrefix('deliver-metabot') });
    await events.waitUntilReady();
    extra.push(events);
  }
  const producer = createProducer({ redisUrl: redis.url, prefix: config.queuePrefix, keyLayout: config.keyLayout });
  await redis.client.config('RESETSTAT');
  const memBefore = await redis.usedMemory();
  const orders = testOrders(`es-${mode}`, N, ['metabotLeadId']);
  for (let i = 0; i < N; i += 500) await producer.orderPaidBulk(orders.slice(i, i + 500));
  const deadline = Date.now() + 120_000;
  while (sandbox.accepted('metabot').length < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1_000)); // the last jobs finish and their results are added
  const stats = parseCommandStats(await redis.info('commandstats'));
  const memAfter = await redis.usedMemory();
  const streams = await redis.client.keys(`${prefix}:*:events`);
  let entries = 0;
  let bytes = 0;
  const perStream: Record<string, { entries: number; bytes: number }> = {};
  for (const key of streams) {
    const e = await redis.client.xlen(key);
    const b = Number(await redis.client.memory('USAGE', key, 'SAMPLES', '0'));
    perStream[key] = { entries: e, bytes: b };
    entries += e;
    bytes += b;
  }
  await producer.close();
  for (const e of extra) await e.close();
  await proc.close();
  const per1k = (n: number) => Math.round((n / N) * 1_000);
  return {
    mode, deliveries: sandbox.accepted('metabot').length,
    per1k: Object.fromEntries(WATCH.map((c) => [c, per1k(stats[c]?.calls ?? 0)])),
    totalCallsPer1k: per1k(Object.values(stats).reduce((a, s) => a + s.calls, 0)),
    perStream, streams: streams.length, streamEntries: entries, streamBytes: bytes, streamBytesPer1k: per1k(bytes), usedMemoryGrowth: memAfter - memBefore,
  };
}

try {
  const before = await run('before');
  const after = await run('after');
  console.log(JSON.stringify({ n: N, eventsMaxLen: EVENTS_MAX_LEN, before, after }, null, 2));
} finally {
  await sandbox.close();
  await redis.stop();
}
