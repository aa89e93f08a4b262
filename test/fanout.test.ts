import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRoutes } from '../src/fanout/routes.js';
import { deliveryQueueName, QUEUES } from '../src/queues/names.js';
import { VENDORS } from '../src/vendors/registry.js';
import { testConfig } from './support/config.js';
import { startFrontHalf } from './support/pipeline.js';
import { startRedis, type TestRedis } from './support/redis.js';
import { waitFor } from './support/wait.js';

const example = (orderId: string) => ({ ...JSON.parse(readFileSync('examples/order-paid.json', 'utf8')), orderId });
// Every vendor "enabled" with dummy credentials: the fan-out only needs to know which vendors are on.
const ALL_VENDORS_ENV = {
  MANTAGO_BOT_ID: 'b', MANTAGO_TOKEN: 'mantago-token-x', MANTAGO_SECRET: 'mantago-secret-x', JOINCHAT_PAGE_ID: 'p', JOINCHAT_SECRET: 'joinchat-secret-x',
  METABOT_BOT_ID: '1', METABOT_TOKEN: 'metabot-token-x', TWIN24_TOKEN: 'twin24-token-x', TWIN24_BOT_ID: 'b', TWIN24_CHAT_ID: 'c',
};

describe('fan-out worker (real Redis)', () => {
  let redis: TestRedis;
  let front: ReturnType<typeof startFrontHalf>;
  let queues: Record<string, Queue>;
  const config = () => front;

  beforeAll(async () => {
    redis = await startRedis();
    const cfg = testConfig(redis.url, ALL_VENDORS_ENV);
    front = startFrontHalf(cfg);
    queues = Object.fromEntries([QUEUES.orders, ...VENDORS.map(deliveryQueueName)].map((n) => [n, new Queue(n, { connection: redis.client(), prefix: cfg.queuePrefix })]));
  });
  afterAll(async () => {
    await config().close();
    await Promise.all(Object.values(queues).map((q) => q.close()));
    await redis.stop();
  });

  const deliveries = async (orderId: string) => {
    const all = await Promise.all(VENDORS.map((v) => queues[deliveryQueueName(v)]!.getJobs(['waiting', 'delayed', 'prioritized'])));
    return all.flat().filter((j) => j.data.orderId === orderId);
  };

  it('turns one order into one delivery job per rule in each vendor queue, with deterministic ids', async () => {
    await front.producer.orderPaid(example('F-1'));
    const jobs = await waitFor(async () => { const d = await deliveries('F-1'); return d.length === 5 && d; }, 'five deliveries');
    const byId = Object.fromEntries(jobs.map((j) => [j.id, j]));
    expect(Object.keys(byId).sort()).toEqual([
      'facebook-thanks.F-1', 'line-thanks.F-1', 'messenger-receipt.F-1', 'metabot-followup.F-1', 'whatsapp-confirmation.F-1',
    ]);
    expect(byId['line-thanks.F-1']!.queueName).toBe('deliver-mantago');
    expect(byId['messenger-receipt.F-1']!.queueName).toBe('deliver-joinchat');
    expect(byId['metabot-followup.F-1']!.queueName).toBe('deliver-metabot');
    expect(byId['whatsapp-confirmation.F-1']!.queueName).toBe('deliver-twin24');
    expect(byId['line-thanks.F-1']!.data.payload).toEqual({ platform: 'line', clientIds: ['U4af4980629'], intentId: 'rb2kYmMdW', name: 'order-paid-line' });
    const record = await front.records.get('F-1');
    expect(record?.deliveries.map((d) => `${d.ruleId}:${d.status}`).sort()).toEqual([
      'facebook-thanks:queued', 'line-thanks:queued', 'messenger-receipt:queued', 'metabot-followup:queued', 'whatsapp-confirmation:queued',
    ]);
  });

  it('puts a rule with a delay in the delayed set with that delay', async () => {
    await front.producer.orderPaid(example('F-2'));
    const job = await waitFor(async () => (await deliveries('F-2')).find((j) => j.id === 'facebook-thanks.F-2'), 'facebook delivery');
    expect(await job.getState()).toBe('delayed');
    expect(job.opts.delay).toBe(15_000);
    expect(await queues['deliver-mantago']!.getDelayedCount()).toBeGreaterThan(0);
    const line = (await deliveries('F-2')).find((j) => j.id === 'line-thanks.F-2');
    expect(await line!.getState()).toBe('waiting');
  });

  it('a retried fan-out adds no duplicate deliveries and never resets a sent status', async () => {
    await front.producer.orderPaid(example('F-3'));
    await waitFor(async () => (await deliveries('F-3')).length === 5, 'five deliveries');
    await front.records.update('F-3', 'line-thanks.F-3', { vendor: 'mantago', ruleId: 'line-thanks', status: 'sent' });
    // Re-run the same order job as a retry would: same data and timestamp.
    const orderJob = (await queues[QUEUES.orders]!.getJobs(['completed'])).find((j) => j.data.orderId === 'F-3')!;
    await queues[QUEUES.orders]!.add('order.paid', orderJob.data, { jobId: 'replay-F-3', timestamp: orderJob.timestamp });
    await waitFor(async () => (await queues[QUEUES.orders]!.getJob('replay-F-3'))?.finishedOn, 'replay finished');
    expect(await deliveries('F-3')).toHaveLength(5);
    expect((await front.records.getDelivery('F-3', 'line-thanks.F-3'))?.status).toBe('sent');
  });

  it('fails an invalid injected order job at once with the bad field, and keeps working', async () => {
    const bad = await queues[QUEUES.orders]!.add('order.paid', { orderId: 'X', total: 'lots' }, { attempts: 5 });
    await waitFor(async () => (await bad.getState()) === 'failed', 'failed state');
    const failed = (await queues[QUEUES.orders]!.getJob(bad.id!))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/invalid order.paid job .*total: Invalid input: expected number/);
    await front.producer.orderPaid(example('F-4'));
    await waitFor(async () => (await deliveries('F-4')).length === 5, 'next order still fanned out');
  });
});

describe('fan-out rule isolation (real Redis)', () => {
  it('records a rule that breaks a vendor limit as rejected while the other rules go out', async () => {
    const redis = await startRedis();
    const cfg = testConfig(redis.url, ALL_VENDORS_ENV);
    const routes = parseRoutes({ rules: [
      { id: 'short', vendor: 'joinchat', channel: 'messenger', message: { message: { template_type: 'text', text: 'Hi {{customer.name}}' } } },
      { id: 'long', vendor: 'joinchat', channel: 'messenger', message: { message: { template_type: 'text', text: '{{customer.name}} {{customer.name}} {{customer.name}} {{customer.name}}' } } },
    ] });
    const front = startFrontHalf(cfg, routes);
    const joinchat = new Queue('deliver-joinchat', { connection: redis.client(), prefix: cfg.queuePrefix });
    const event = example('R-1');
    event.customer.name = 'N'.repeat(200);
    await front.producer.orderPaid(event);
    const record = await waitFor(async () => { const r = await front.records.get('R-1'); return r?.deliveries.length === 2 && r; }, 'two records');
    expect(record.deliveries.find((d) => d.ruleId === 'long')).toMatchObject({ status: 'rejected', reason: expect.stringContaining('must be at most 640 characters') });
    expect(record.deliveries.find((d) => d.ruleId === 'short')?.status).toBe('queued');
    // The records are written before the jobs are added: wait for the order job to finish, then look at the jobs.
    const orders = new Queue(QUEUES.orders, { connection: redis.client(), prefix: cfg.queuePrefix });
    const done = await waitFor(async () => (await orders.getJobs(['completed']))[0], 'the order job to complete');
    expect((await joinchat.getJobs(['waiting'])).map((j) => j.id)).toEqual(['short.R-1']);
    expect(done.returnvalue.rejected).toEqual([{ rule: 'long', reason: expect.stringContaining('640') }]);
    await front.close();
    await joinchat.close();
    await orders.close();
    await redis.stop();
  });
});
