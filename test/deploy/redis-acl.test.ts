import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { createProducer } from '../../src/producer/producer.js';
import { deliveryQueueName } from '../../src/queues/names.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { readRepoFile } from './support.js';

/** The ACL lines docs/security.md tells operators to run, applied verbatim (passwords filled in). */
const ACL_LINES = readRepoFile('docs', 'security.md').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('ACL SETUSER '));
const PASSWORDS: Record<string, string> = { WORKER_PASSWORD: 'worker-pw-0123456789', PRODUCER_PASSWORD: 'producer-pw-0123456789', KEDA_PASSWORD: 'keda-pw-0123456789' };
const PREFIX = 'order-notify';

describe('Redis ACL users per role (docs/security.md)', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  const urlFor = (user: string, password: string) => redis.url.replace('redis://', `redis://${user}:${password}@`);
  const as = (user: string, password: string) => {
    const c = new Redis(urlFor(user, password), { maxRetriesPerRequest: 1, lazyConnect: false });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await startRedis();
    expect(ACL_LINES.map((l) => l.split(' ')[2])).toEqual(['order-notify-worker', 'order-notify-producer', 'order-notify-keda']);
    for (const line of ACL_LINES) {
      const args = line.replace(/[A-Z]+_PASSWORD/g, (name) => PASSWORDS[name]!).split(/\s+/).slice(1);
      await redis.client().call('ACL', ...args);
    }
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  it('the producer user enqueues and reads order records, and may touch nothing else', async () => {
    const producer = createProducer({ redisUrl: urlFor('order-notify-producer', PASSWORDS.PRODUCER_PASSWORD!), prefix: PREFIX });
    try {
      expect((await producer.orderPaid({ ...SAMPLE_ORDER_PAID, orderId: 'ACL-1' })).duplicate).toBe(false);
      expect((await producer.orderPaid({ ...SAMPLE_ORDER_PAID, orderId: 'ACL-1' })).duplicate).toBe(true);
      expect(await producer.getOrder('ACL-NONE')).toBeUndefined();
    } finally {
      await producer.close();
    }
    expect(await redis.client().llen(`${PREFIX}:orders:wait`)).toBe(1);
    const raw = as('order-notify-producer', PASSWORDS.PRODUCER_PASSWORD!);
    await expect(raw.set(`${PREFIX}:${deliveryQueueName('mantago')}:x`, '1')).rejects.toThrow(/NOPERM/);
    await expect(raw.flushall()).rejects.toThrow(/NOPERM/);
    await expect(raw.call('CONFIG', 'GET', '*')).rejects.toThrow(/NOPERM/);
  });

  it('the worker user runs a delivery queue end to end, but cannot flush, reconfigure or leave the prefix', async () => {
    const connection = { url: urlFor('order-notify-worker', PASSWORDS.WORKER_PASSWORD!) };
    const name = deliveryQueueName('mantago');
    const queue = new Queue(name, { connection, prefix: PREFIX });
    const done = new Promise<string>((resolve, reject) => {
      const worker = new Worker(name, async (job) => `sent ${job.data.n}`, { connection, prefix: PREFIX });
      worker.on('completed', (_job, value) => { void worker.close().then(() => resolve(value as string)); });
      worker.on('error', reject);
    });
    await queue.add('delivery', { n: 7 });
    expect(await done).toBe('sent 7');
    await queue.close();
    const raw = as('order-notify-worker', PASSWORDS.WORKER_PASSWORD!);
    await expect(raw.flushall()).rejects.toThrow(/NOPERM/);
    await expect(raw.call('CONFIG', 'SET', 'appendonly', 'no')).rejects.toThrow(/NOPERM/);
    await expect(raw.set('another-app:key', '1')).rejects.toThrow(/NOPERM/);
  });

  it('the KEDA user reads list lengths and nothing more', async () => {
    const keda = as('order-notify-keda', PASSWORDS.KEDA_PASSWORD!);
    expect(await keda.llen(`${PREFIX}:orders:wait`)).toBe(1);
    await expect(keda.lrange(`${PREFIX}:orders:wait`, 0, -1)).rejects.toThrow(/NOPERM/);
    await expect(keda.set(`${PREFIX}:x`, '1')).rejects.toThrow(/NOPERM/);
  });
});
