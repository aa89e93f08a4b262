/**
 * The Twin24 delivery worker (createDeliveryWorker with the real adapter) against the strict sandbox: auth,
 * failures, retries and batching, asserted on what the sandbox received and what Redis holds.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PendingMessages, type PendingMessage } from '../../src/vendors/twin24/correlation/pending.js';
import type { Delivery, VendorAdapter } from '../../src/delivery/types.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { createTwin24Adapter } from '../../src/vendors/twin24/adapter.js';
import type { Twin24Payload } from '../../src/vendors/twin24/payload.js';
import type { AppConfig } from '../../src/config/env.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { OrderRecords } from '../../src/orders/record.js';
import { waitFor } from '../support/wait.js';
import {
  authCalls, counterValue, deliveryIdOf, destinationsPerPhone, phoneOf, sends, silent, startTwin24Rig, type Twin24Delivery, type Twin24Rig,
} from './twin24-rig.js';

let rig: Twin24Rig;
beforeAll(async () => { rig = await startTwin24Rig(); });
afterAll(async () => { await rig.close(); });
beforeEach(() => rig.sandbox.reset());
afterEach(async () => { await rig.cleanup(); });

const orders = (n: number, from = 0, over: Partial<Twin24Delivery> = {}): Twin24Delivery[] =>
  Array.from({ length: n }, (_, k) => ({ orderId: `O-${from + k}`, phone: phoneOf(from + k), ...over }));
const ids = (list: Twin24Delivery[]) => list.map((d) => d.orderId);
/** Distinct templates force one request per delivery. */
const distinctTexts = (list: Twin24Delivery[]) => list.map((d, i) => ({ ...d, text: `Text ${i} for {{name}}` }));

/** Every delivery completed, its vendor id is the sandbox message created for ITS phone, recorded on ITS order. */
async function expectDeliveredOnce(config: AppConfig, list: Twin24Delivery[], records: OrderRecords) {
  const jobs = await rig.finalJobs(config, ids(list));
  // A job that failed an attempt and then succeeded keeps its last failedReason: look at the state.
  const states = await Promise.all([...jobs.values()].map(async (j) => [j, await j.getState()] as const));
  const failed = states.filter(([, s]) => s !== 'completed').map(([j]) => j);
  expect(failed.map((j) => `${j.id}: ${j.failedReason}`)).toEqual([]);
  const perPhone = destinationsPerPhone(rig.sandbox);
  const created = new Map(rig.sandbox.twin24Messages().map((m) => [m.phone, m.id]));
  for (const d of list) {
    expect(perPhone.get(d.phone), d.phone).toBe(1);
    const id = created.get(d.phone);
    expect(id).toBeDefined();
    expect(jobs.get(d.orderId)!.returnvalue).toEqual({ vendorMessageId: id });
    expect(await records.getDelivery(d.orderId, deliveryIdOf(d.orderId))).toMatchObject({ status: 'sent', vendorMessageId: id });
  }
  expect(rig.sandbox.twin24Messages()).toHaveLength(list.length);
  return jobs;
}

async function pendingEntries(config: AppConfig): Promise<Map<string, PendingMessage>> {
  const pending = new PendingMessages(rig.connection(), config.queuePrefix);
  const data = await rig.connection().hgetall(pending.dataKey);
  expect(await pending.count()).toBe(Object.keys(data).length);
  return new Map(Object.entries(data).map(([id, raw]) => [id, JSON.parse(raw) as PendingMessage]));
}

describe('Twin24 worker: auth', () => {
  it('logs in once, then refreshes exactly once when the token expires under concurrent deliveries (two replicas)', async () => {
    const config = rig.config({ TWIN24_RATE_LIMIT: '100/1s' });
    const { records, metrics } = await rig.startWorkers(config, { replicas: 2 });
    const warmup = orders(2);
    await rig.enqueue(config, warmup);
    await rig.finalJobs(config, ids(warmup));
    expect(authCalls(rig.sandbox).map((r) => r.path)).toEqual(['/auth/login']);

    rig.sandbox.expireToken('twin24');
    const burst = distinctTexts(orders(12, 2));
    await rig.enqueue(config, burst);
    await expectDeliveredOnce(config, [...warmup, ...burst], records);
    expect(authCalls(rig.sandbox).map((r) => `${r.path} ${r.status}`)).toEqual(['/auth/login 200', '/auth/refresh 200']);
    // Some requests met the expired token, and none of the deliveries failed or retried because of it.
    expect(rig.sandbox.requests('twin24').filter((r) => r.status === 401).length).toBeGreaterThan(0);
    for (const d of burst) expect((await records.getDelivery(d.orderId, deliveryIdOf(d.orderId)))?.attempts).toBe(1);
    const refreshes = await Promise.all(metrics.map((m) => counterValue(m, 'tokenRefreshes')));
    expect(refreshes.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('an expired static token fails the delivery permanently with a reason an operator can act on', async () => {
    const config = rig.config({ TWIN24_TOKEN: rig.sandbox.credentials.twin24.staticToken });
    const { records } = await rig.startWorkers(config);
    rig.sandbox.expireToken('twin24');
    const list = orders(1);
    await rig.enqueue(config, list);
    const job = (await rig.finalJobs(config, ids(list))).get('O-0')!;
    expect(job.failedReason).toBe('twin24 401: static token expired; set a new TWIN24_TOKEN');
    expect(job.attemptsMade).toBe(1);
    expect(await records.getDelivery('O-0', deliveryIdOf('O-0'))).toMatchObject({ status: 'failed', reason: job.failedReason });
    expect(authCalls(rig.sandbox)).toHaveLength(0);
    expect(sends(rig.sandbox)).toHaveLength(0);
  });

  it('bad credentials fail permanently with Twin24\'s error and nothing is sent', async () => {
    const config = rig.config({ TWIN24_PASSWORD: 'not-the-password' });
    await rig.startWorkers(config);
    const list = orders(3);
    await rig.enqueue(config, list);
    for (const job of (await rig.finalJobs(config, ids(list))).values()) {
      expect(job.failedReason).toBe('twin24 401: login: Invalid credentials: wrong email or password');
      expect(job.attemptsMade).toBe(1);
    }
    expect(sends(rig.sandbox)).toHaveLength(0);
  });
});

describe('Twin24 worker: failures', () => {
  it('30 % of requests answered 503: every message delivered, none twice', async () => {
    const config = rig.config({ TWIN24_RATE_LIMIT: '50/1s', TWIN24_BATCH_MAX: '5' });
    const { records } = await rig.startWorkers(config);
    rig.sandbox.setFaults('twin24', { errorRate: 0.3 });
    const list = orders(60);
    await rig.enqueue(config, list);
    await expectDeliveredOnce(config, list, records);
    expect(rig.sandbox.requests('twin24').filter((r) => r.status === 503).length).toBeGreaterThan(0);
  });

  it('429 from Twin24: the worker pauses and delivers later, once each', async () => {
    const config = rig.config({ TWIN24_RATE_LIMIT: '50/1s' });
    const { records } = await rig.startWorkers(config);
    rig.sandbox.setFaults('twin24', { rateLimit: { max: 2, durationMs: 500, retryAfterSec: 1 } });
    const list = distinctTexts(orders(6));
    await rig.enqueue(config, list);
    await expectDeliveredOnce(config, list, records);
    expect(rig.sandbox.requests('twin24').filter((r) => r.status === 429).length).toBeGreaterThan(0);
  });

  it('a permanent 4xx (unknown chat) fails at once and is not retried; others are unaffected', async () => {
    const config = rig.config();
    const { records } = await rig.startWorkers(config);
    const bad = orders(1, 0, { chatId: 'no-such-chat' });
    const good = orders(2, 1);
    await rig.enqueue(config, [...bad, ...good]);
    const jobs = await rig.finalJobs(config, ids([...bad, ...good]));
    const job = jobs.get('O-0')!;
    expect(job.failedReason).toBe('twin24 404: send: Chat not found: messages[0].channels.chat.chatId: no-such-chat is not a chat of this account');
    expect(job.attemptsMade).toBe(1);
    expect(rig.sandbox.requests('twin24').filter((r) => r.status === 404)).toHaveLength(1);
    expect(await records.getDelivery('O-0', deliveryIdOf('O-0'))).toMatchObject({ status: 'failed' });
    for (const o of ['O-1', 'O-2']) expect(jobs.get(o)!.returnvalue).toMatchObject({ vendorMessageId: expect.any(String) });
  });
});

describe('Twin24 worker: batching', () => {
  it('300 deliveries of one template at backlog: few requests, each message once, ids on the right orders, all pending', async () => {
    const config = rig.config();
    const list = orders(300);
    await rig.enqueue(config, list);
    const { records, metrics } = await rig.startWorkers(config);
    const jobs = await expectDeliveredOnce(config, list, records);
    const requests = sends(rig.sandbox);
    const perRequest = requests.map((r) => (r.body as any).messages[0].destinations.length);
    expect(perRequest.reduce((a, b) => a + b, 0)).toBe(300);
    expect(Math.max(...perRequest)).toBeLessThanOrEqual(100);
    expect(300 / requests.length).toBeGreaterThanOrEqual(50);
    // Each destination carries its own order's variables, so no order got another's text.
    for (const r of requests) for (const d of (r.body as any).messages[0].destinations) expect(phoneOf(Number(d.variables.order.slice(2)))).toBe(d.phone);
    const pending = await pendingEntries(config);
    expect(pending.size).toBe(300);
    for (const d of list) {
      const id = jobs.get(d.orderId)!.returnvalue.vendorMessageId as string;
      expect(pending.get(id)).toMatchObject({ messageId: id, orderId: d.orderId, deliveryId: deliveryIdOf(d.orderId), ruleId: 'wa-test', sentAt: expect.any(Number) });
    }
    const observed = (await metrics[0]!.recipientsPerRequest.get()).values.find((v) => v.metricName?.endsWith('_sum'));
    expect(observed?.value).toBe(300);
    console.info(`[twin24 batching] 300 deliveries in ${requests.length} requests: ${perRequest.join(', ')}`);
  });

  it('mixed templates at backlog are grouped by template, never mixed within a request', async () => {
    const config = rig.config();
    const texts = ['A {{name}}', 'B {{name}}', 'C {{name}}'];
    const list = orders(90).map((d, i) => ({ ...d, text: texts[i % 3]!, chatSessionName: i % 3 === 2 ? 'other-session' : 'order-paid' }));
    await rig.enqueue(config, list);
    const { records } = await rig.startWorkers(config);
    await expectDeliveredOnce(config, list, records);
    const textOf = new Map(list.map((d) => [d.phone, d.text]));
    const requests = sends(rig.sandbox);
    for (const r of requests) {
      const m = (r.body as any).messages[0];
      for (const d of m.destinations) expect(textOf.get(d.phone)).toBe(m.channels.chat.text);
      expect(m.channels.chat.chatSessionName).toBe(m.channels.chat.text.startsWith('C') ? 'other-session' : 'order-paid');
    }
    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(requests.length).toBeLessThanOrEqual(12);
  });

  it('one destination Twin24 refuses fails alone; the rest of its request is delivered', async () => {
    const config = rig.config();
    // The payload schema refuses such a phone, so the bad one is swapped in just before the real adapter sends.
    const adapter = ({ config: c }: { config: AppConfig }): VendorAdapter<unknown> => {
      const real = createTwin24Adapter({
        config: c.vendors.twin24!, redis: rig.connection(), prefix: c.queuePrefix, http: createVendorHttp(5_000), logger: silent, metrics: new Metrics({ defaultMetrics: false }),
      });
      return {
        ...real,
        send: (batch) => real.send((batch as Array<Delivery<Twin24Payload>>).map((d) => (d.orderId === 'O-3'
          ? { ...d, payload: { ...d.payload, destination: { ...d.payload.destination, phone: '12-34' } } } : d))),
      } as VendorAdapter<unknown>;
    };
    const list = orders(8);
    await rig.enqueue(config, list);
    const { records } = await rig.startWorkers(config, { adapter });
    const jobs = await rig.finalJobs(config, ids(list));
    const bad = jobs.get('O-3')!;
    expect(bad.failedReason).toMatch(/^twin24 INVALID_PHONE: phone "12-34" must be 7 to 15 digits/);
    expect(bad.attemptsMade).toBe(1);
    const requests = sends(rig.sandbox);
    expect(requests.some((r) => (r.body as any).messages[0].destinations.some((d: { phone: string }) => d.phone === '12-34')
      && (r.body as any).messages[0].destinations.length > 1)).toBe(true);
    const created = new Map(rig.sandbox.twin24Messages().map((m) => [m.phone, m.id]));
    expect(created.size).toBe(7);
    for (const d of list.filter((x) => x.orderId !== 'O-3')) {
      expect(jobs.get(d.orderId)!.returnvalue).toEqual({ vendorMessageId: created.get(d.phone) });
    }
    expect(await records.getDelivery('O-3', deliveryIdOf('O-3'))).toMatchObject({ status: 'failed' });
    expect((await pendingEntries(config)).size).toBe(7);
  });

  it('a single order at low traffic still goes out after the linger', async () => {
    const config = rig.config({ TWIN24_BATCH_LINGER_MS: '300' });
    const { records } = await rig.startWorkers(config);
    const list = orders(1);
    await rig.enqueue(config, list);
    await waitFor(() => sends(rig.sandbox).length === 1, 'the lone message to reach Twin24');
    await expectDeliveredOnce(config, list, records);
    expect((await pendingEntries(config)).size).toBe(1);
  });
});
