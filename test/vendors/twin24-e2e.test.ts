/**
 * The whole send path: producer → fan-out (config/routes.example.yaml) → Twin24 delivery worker → sandbox,
 * and the real worker process (workers/twin24.ts).
 */
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PendingMessages } from '../../src/vendors/twin24/correlation/pending.js';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { deliveryQueueName } from '../../src/queues/names.js';
import { deliveryId } from '../../src/queues/job-ids.js';
import { sandboxEnv } from '../support/config.js';
import { startFrontHalf } from '../support/pipeline.js';
import { startChildWorker } from '../support/child-worker.js';
import { waitFor } from '../support/wait.js';
import { destinationsPerPhone, phoneOf, sends, startTwin24Rig, type Twin24Rig } from './twin24-rig.js';

const RULE = 'whatsapp-confirmation';
let rig: Twin24Rig;
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => { rig = await startTwin24Rig(); });
afterAll(async () => { await rig.close(); });
beforeEach(() => rig.sandbox.reset());
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await rig.cleanup();
});

/** An order reaching WhatsApp only (the other rules of the example file are skipped for it). */
const order = (orderId: string, phone: string, over: Partial<OrderPaid> = {}): OrderPaid => ({
  ...SAMPLE_ORDER_PAID, orderId, ...over, customer: { ...SAMPLE_ORDER_PAID.customer, channels: { whatsappPhone: phone } },
});

function frontHalf(config: ReturnType<Twin24Rig['config']>) {
  const front = startFrontHalf(config);
  closers.push(() => front.close());
  return front;
}

describe('Twin24 end to end', () => {
  it('the example route whatsapp-confirmation: the exact bytes Twin24 receives, and the order record', async () => {
    const config = rig.config();
    const front = frontHalf(config);
    await rig.startWorkers(config);
    await front.producer.orderPaid(order('SAMPLE-1001', '+66 81 234 5678'));
    await waitFor(() => sends(rig.sandbox).length === 1, 'the message at Twin24');
    const c = rig.sandbox.credentials.twin24;
    expect(sends(rig.sandbox)[0]!.rawBody).toBe(
      `{"messages":[{"channels":{"chat":{"chatId":"${c.chatId}","botId":"${c.botId}","messengerType":"WHATSAPP",`
      + `"chatSessionName":"order-paid","text":"Hello {{name}}! Your order {{order}} for {{total}} is paid. Reply 1 to confirm delivery.",`
      + `"provider":"TWIN"}},"destinations":[{"phone":"66812345678","variables":{"name":"Somchai Jaidee","order":"SAMPLE-1001","total":"1290.00 THB"}}]}]}`,
    );
    const [message] = rig.sandbox.twin24Messages();
    const delivery = await waitFor(async () => {
      const d = (await front.producer.getOrder('SAMPLE-1001'))?.deliveries.find((x) => x.ruleId === RULE);
      return d?.status === 'sent' ? d : undefined;
    }, 'the order record to say sent');
    expect(delivery).toMatchObject({ vendor: 'twin24', vendorMessageId: message!.id, attempts: 1 });
    const pending = await rig.connection().hget(new PendingMessages(rig.connection(), config.queuePrefix).dataKey, message!.id);
    expect(JSON.parse(pending!)).toMatchObject({ orderId: 'SAMPLE-1001', ruleId: RULE, deliveryId: deliveryId('SAMPLE-1001', RULE) });
  });

  it('300 paid orders at backlog go out in few requests; every order gets its own message id', async () => {
    const config = rig.config();
    const front = frontHalf(config);
    const phones = new Map(Array.from({ length: 300 }, (_, i) => [`FS-${i}`, phoneOf(i)]));
    await front.producer.orderPaidBulk([...phones].map(([id, phone], i) => order(id, phone, { total: 100 + i })));
    const queue = new Queue(deliveryQueueName('twin24'), { connection: rig.connection(), prefix: config.queuePrefix });
    closers.push(() => queue.close());
    await waitFor(async () => (await queue.getWaitingCount()) === 300, '300 twin24 deliveries waiting');

    await rig.startWorkers(config);
    const records = await waitFor(async () => {
      const all = await Promise.all([...phones.keys()].map((id) => front.producer.getOrder(id)));
      const ds = all.map((o) => o?.deliveries.find((x) => x.ruleId === RULE));
      return ds.every((d) => d?.status === 'sent') ? ds : undefined;
    }, 'every order record to say sent', 30_000);

    const requests = sends(rig.sandbox);
    expect(300 / requests.length).toBeGreaterThanOrEqual(50);
    expect([...destinationsPerPhone(rig.sandbox).values()].every((n) => n === 1)).toBe(true);
    const created = new Map(rig.sandbox.twin24Messages().map((m) => [m.phone, m]));
    expect(created.size).toBe(300);
    [...phones].forEach(([orderId, phone], i) => {
      const message = created.get(phone)!;
      expect(records[i]!.vendorMessageId, orderId).toBe(message.id);
      expect(message.variables).toEqual({ name: 'Somchai Jaidee', order: orderId, total: `${(100 + i).toFixed(2)} THB` });
    });
    expect(await new PendingMessages(rig.connection(), config.queuePrefix).count()).toBe(300);
    console.info(`[twin24 e2e batching] 300 orders in ${requests.length} requests`);
  });

  it('workers/twin24.ts runs as a process: delivers, then stops cleanly on SIGTERM', async () => {
    const config = rig.config();
    const env = {
      REDIS_URL: rig.redis.url, QUEUE_PREFIX: config.queuePrefix, LOG_LEVEL: 'info',
      ...Object.fromEntries(Object.entries(sandboxEnv(rig.sandbox)).filter(([k]) => k.startsWith('TWIN24_'))),
    };
    const child = await startChildWorker('workers/twin24.ts', env, { keepLines: Infinity });
    closers.push(async () => { if (!child.exited()) await child.kill('SIGKILL'); });

    const front = frontHalf(rig.config({ QUEUE_PREFIX: config.queuePrefix }));
    await front.producer.orderPaid(order('PROC-1', '+66 81 000 0001'));
    await waitFor(() => sends(rig.sandbox).length === 1, 'the message from the worker process', 20_000);
    await waitFor(async () => (await front.producer.getOrder('PROC-1'))?.deliveries.find((d) => d.ruleId === RULE)?.status === 'sent', 'sent');
    const { token, refreshToken } = JSON.parse((await rig.connection().get(`${config.queuePrefix}:twin24:auth`))!);
    for (const secret of [rig.sandbox.credentials.twin24.password, token, refreshToken]) expect(child.output()).not.toContain(secret);
    expect(child.output()).toContain('twin24 token renewed');
    expect((await child.kill('SIGTERM')).code).toBe(0);
  });
});
