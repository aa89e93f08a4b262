import { Queue, UnrecoverableError, Worker } from 'bullmq';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STALLED_OUT_REASON, watchStalledOut } from '../src/delivery/stalled.js';
import { keyspace } from '../src/queues/keyspace.js';
import { EVENTS_MAX_LEN, queueAt, workerAt } from '../src/queues/options.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { waitFor } from './support/wait.js';

describe('stalled-out watcher (failed set, no event reader) and the event-stream cap (real Redis)', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis?.stop(); });

  it('hands over each job failed as stalled-out once, from every partition, and nothing else', async () => {
    const keys = keyspace('sw', 'per-queue');
    const connection = redis.client();
    const names = ['deliver-metabot-0', 'deliver-metabot-1'];
    const queues = names.map((n) => new Queue(n, { connection, ...queueAt(keys, n) }));
    // BullMQ fails a stalled-out job with this very reason when a worker picks it up; a processor can do the same.
    const workers = names.map((n) => new Worker(n, async (job) => {
      throw new UnrecoverableError(job.name === 'stalled' ? STALLED_OUT_REASON : 'vendor refused: 400');
    }, { connection: { url: redis.url }, ...workerAt(keys, n) }));
    const handed: string[] = [];
    const watcher = watchStalledOut({
      queues, connection, everyMs: 1_000, autorun: false, logger: pino({ level: 'silent' }),
      onStalledOut: async (id, q) => { handed.push(`${q.name}/${id}`); },
    });
    try {
      await queues[0]!.add('refused', {}, { jobId: 'a' });
      await queues[1]!.add('stalled', {}, { jobId: 'b' });
      await queues[0]!.add('stalled', {}, { jobId: 'c' });
      await waitFor(async () => (await Promise.all(queues.map((q) => q.getFailedCount()))).reduce((x, y) => x + y) === 3, 'three failures');
      expect(await watcher.check()).toBe(2);
      expect(handed.sort()).toEqual(['deliver-metabot-0/c', 'deliver-metabot-1/b']);
      expect(await watcher.check()).toBe(0); // the overlap window sees them again; this replica does not hand them twice
      await queues[1]!.add('stalled', {}, { jobId: 'd' });
      await waitFor(async () => (await queues[1]!.getFailedCount()) === 2, 'the fourth failure');
      expect(await watcher.check()).toBe(1);
      expect(handed).toContain('deliver-metabot-1/d');
    } finally {
      await watcher.close();
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(queues.map((q) => q.close()));
    }
  });

  it(`caps each queue's event stream near ${EVENTS_MAX_LEN} entries (BullMQ's default keeps 10,000)`, async () => {
    const keys = keyspace('cap');
    const queue = new Queue('deliver-joinchat', { connection: redis.client(), ...queueAt(keys, 'deliver-joinchat') });
    try {
      await queue.waitUntilReady();
      for (let i = 0; i < 3; i++) await queue.addBulk(Array.from({ length: 1_000 }, (_, k) => ({ name: 'delivery', data: { k }, opts: { jobId: `${i}-${k}` } })));
      const conn = redis.client();
      expect(await conn.hget(queue.keys.meta!, 'opts.maxLenEvents')).toBe(String(EVENTS_MAX_LEN));
      const length = await conn.xlen(queue.keys.events!);
      // Approximate trimming (MAXLEN ~) keeps whole stream nodes of 100 entries: a little over the cap, far below 3,000.
      expect(length).toBeGreaterThanOrEqual(EVENTS_MAX_LEN);
      expect(length).toBeLessThan(EVENTS_MAX_LEN + 200);
    } finally {
      await queue.close();
    }
  });
});
