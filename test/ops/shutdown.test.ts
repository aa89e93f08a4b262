import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderRecords } from '../../src/orders/record.js';
import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { mantagoJob } from './fixtures/fake-adapter.js';

const ENTRY = 'test/ops/fixtures/slow-delivery-process.ts';

/** The fixture process with the shared child-process rig; all of its output kept (the test reads every log line). */
function spawnWorker(env: Record<string, string>): Promise<ChildWorker> {
  return startChildWorker(ENTRY, { LOG_LEVEL: 'info', ...env }, { keepLines: Infinity });
}

describe('graceful shutdown of a worker process', () => {
  let redis: TestRedis;
  const children: ChildWorker[] = [];
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => {
    for (const c of children) if (!c.exited()) await c.kill('SIGKILL');
    await redis?.stop();
  });

  it('on SIGTERM mid-job: takes no new job, finishes the active one, exits 0', async () => {
    const prefix = `sd${Math.random().toString(36).slice(2, 8)}`;
    const child = await spawnWorker({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, SHUTDOWN_TIMEOUT: '20s', FAKE_SEND_DELAY_MS: '1500' });
    children.push(child);
    const queue = new Queue('deliver-mantago', { connection: { url: redis.url }, prefix });
    const client = redis.client();
    const first = mantagoJob('SD-1');
    await queue.add('delivery', first, { jobId: first.deliveryId });
    await waitFor(async () => (await client.lrange(`${prefix}:test:sending`, 0, -1)).includes(first.deliveryId), 'the send to start');

    const exiting = child.kill('SIGTERM');
    await waitFor(() => child.output().includes('shutting down'), 'the process to begin shutting down');
    const second = mantagoJob('SD-2');
    await queue.add('delivery', second, { jobId: second.deliveryId });

    const { code } = await exiting;
    expect(code, child.output()).toBe(0);
    expect(await (await queue.getJob(first.deliveryId))!.getState()).toBe('completed');
    expect(await (await queue.getJob(second.deliveryId))!.getState()).toBe('waiting');
    const record = await new OrderRecords(client, prefix, 60_000).getDelivery('SD-1', first.deliveryId);
    expect(record).toMatchObject({ status: 'sent', vendorMessageId: 'fake-SD-1' });
    expect(child.output()).toContain('shut down cleanly');
    // The one-line job outcome: order id, vendor, rule, attempt, duration.
    const delivered = child.output().split('\n').filter((l) => l.includes('"msg":"delivered"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(delivered).toEqual([expect.objectContaining({ orderId: 'SD-1', vendor: 'mantago', rule: 'line-thanks', attempt: 1, durationMs: expect.any(Number) })]);
    await queue.close();
  });

  it('a job still running at SHUTDOWN_TIMEOUT is left active for stalled-job recovery, and the process exits 0', async () => {
    const prefix = `sd${Math.random().toString(36).slice(2, 8)}`;
    const child = await spawnWorker({ REDIS_URL: redis.url, QUEUE_PREFIX: prefix, SHUTDOWN_TIMEOUT: '300ms', FAKE_SEND_DELAY_MS: '60000' });
    children.push(child);
    const queue = new Queue('deliver-mantago', { connection: { url: redis.url }, prefix });
    const client = redis.client();
    const job = mantagoJob('SD-SLOW');
    await queue.add('delivery', job, { jobId: job.deliveryId });
    await waitFor(async () => (await client.lrange(`${prefix}:test:sending`, 0, -1)).includes(job.deliveryId), 'the send to start');

    const exiting = child.kill('SIGTERM');
    const { code } = await exiting;
    expect(code, child.output()).toBe(0);
    expect(child.output()).toContain('leaving them to stalled-job recovery');
    expect(await (await queue.getJob(job.deliveryId))!.getState()).toBe('active');
    const record = await new OrderRecords(client, prefix, 60_000).getDelivery('SD-SLOW', job.deliveryId);
    expect(record?.status).not.toBe('sent');
    await queue.close();
  });
});
