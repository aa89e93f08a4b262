import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac } from 'node:crypto';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notificationsOf, orderNotificationSchema, type OrderNotification } from '../../src/orders/handback.js';
import { verifyWebhook } from '../../src/orders/webhook-signature.js';
import { QUEUES } from '../../src/queues/names.js';
import { waitFor, sleep } from '../support/wait.js';
import { jobsOf, lastSeq, orderIdOf, phoneOf, RULE, startRig, tickUntilSettled, type Pipeline, type Rig } from './rig.js';

const PAGE = 7;
const ORDERS = 200;
const SECRET = 'webhook-secret-for-tests';
/** Last digit picks the sandbox outcome: 3 → UNDELIVERED, 7 → EXPIRED, else DELIVERED. */
const outcome = (phone: string) => (phone.endsWith('3') ? 'UNDELIVERED' : phone.endsWith('7') ? 'EXPIRED' : 'DELIVERED') as 'DELIVERED';

interface Received { body: string; headers: Record<string, string | string[] | undefined>; answered: number }

/** A monolith's webhook endpoint: answers 503 to the first POST of every 5th event (retries must follow). */
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const failedOnce = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const eventId = String(req.headers['webhook-id']);
      const fail = received.filter((r) => r.answered === 200).length % 5 === 0 && !failedOnce.has(eventId);
      if (fail) failedOnce.add(eventId);
      const answered = fail ? 503 : 200;
      received.push({ body, headers: req.headers, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/order-notify`, received };
}

describe('Twin24 correlation, end to end (real Redis + sandbox timeline)', () => {
  let rig: Rig;
  let p: Pipeline;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let orderIds: string[];

  beforeAll(async () => {
    rig = await startRig({ twin24: { pendingAfterMs: 300, finalAfterMs: 1_500, resultAfterMs: 500, outcome } });
    receiver = await startReceiver();
    p = await rig.pipeline(
      { TWIN24_STATS_PAGE_SIZE: String(PAGE), TWIN24_RATE_LIMIT: '100/1s', RESULTS_WEBHOOK_URL: receiver.url, RESULTS_WEBHOOK_SECRET: SECRET },
      ['fanout', 'twin24', 'results-webhook'],
    );
  });
  afterAll(async () => {
    await rig?.close();
    receiver?.server.close();
  });

  it('correlates 200 orders sent by the real Twin24 worker with the sandbox\'s sessions and results', async () => {
    orderIds = await p.sendOrders(ORDERS);
    const summaries = await tickUntilSettled(p);
    expect(summaries.reduce((n, s) => n + s.correlated + s.failed, 0)).toBe(ORDERS);

    const views = new Map(rig.sandbox.twin24Messages().map((m) => [m.phone, m]));
    expect(views.size).toBe(ORDERS);
    const counts: Record<string, number> = {};
    for (const [i, orderId] of orderIds.entries()) {
      const order = await p.producer.getOrder(orderId);
      const delivery = order?.deliveries.find((d) => d.ruleId === RULE);
      const view = views.get(phoneOf(i))!;
      expect(delivery, orderId).toBeDefined();
      expect(delivery!.vendorMessageId).toBe(view.id);
      counts[delivery!.status] = (counts[delivery!.status] ?? 0) + 1;
      if (view.status === 'DELIVERED') {
        // The seed's table: messageId, chatId (the session), result.
        expect(delivery).toMatchObject({ status: 'correlated', vendorStatus: 'DELIVERED', chatId: view.providerMessageId, result: view.result });
        expect(view.result).not.toBeNull();
      } else {
        expect(delivery).toMatchObject({ status: view.status.toLowerCase(), vendorStatus: view.status });
        expect(delivery!.result).toBeUndefined();
      }
      expect(delivery!.finalAt).toBeDefined();
    }
    expect(counts).toEqual({ correlated: 160, undelivered: 20, expired: 20 });
    expect(await p.pending.count()).toBe(0);
  });

  it('hands every status change to the results queue exactly once, with a valid v1 payload', async () => {
    const distinct = new Set(p.changes);
    // Re-running the same change (a crashed worker, a repeated tick) must not add a second job.
    const again = await p.records.get(orderIdOf(0));
    const d = again!.deliveries[0]!;
    await p.records.update(orderIdOf(0), d.deliveryId, { vendor: d.vendor, ruleId: d.ruleId, status: d.status, vendorStatus: d.vendorStatus, chatId: d.chatId, result: d.result });
    expect((await p.tick()).calls).toBe(0); // nothing pending: no analyse call either

    await p.handback.relay!.sweep();
    const jobs = await jobsOf(p.results);
    expect(jobs.every((j) => j.name === 'order.notifications')).toBe(true);
    expect(jobs.length).toBeLessThan(distinct.size / 10); // batched: up to RESULTS_BATCH_MAX changes per job
    const notifications = jobs.flatMap((j) => notificationsOf(j.data));
    expect(notifications.length).toBe(distinct.size);
    expect(new Set(notifications.map((n) => n.eventId))).toEqual(distinct);
    const byDelivery = new Map<string, OrderNotification[]>();
    for (const n of notifications) byDelivery.set(n.deliveryId, [...(byDelivery.get(n.deliveryId) ?? []), n]);
    expect(byDelivery.size).toBe(ORDERS);
    for (const list of byDelivery.values()) {
      list.sort((a, b) => a.at.localeCompare(b.at));
      expect(list[0]!.status).toBe('queued');
      expect(list.map((n) => n.status)).toContain('sent');
      const last = list.at(-1)!;
      expect(last.final).toBe(true);
      expect(list.filter((n) => n.final)).toHaveLength(1);
      if (last.status === 'correlated') expect(last).toMatchObject({ chatId: expect.any(String), vendorMessageId: expect.any(String), result: expect.any(Object) });
    }

    // What a monolith runs: any BullMQ worker on the results queue with the same prefix.
    const seen: string[] = [];
    const consumer = new Worker(QUEUES.results, async (job) => { seen.push(...notificationsOf(job.data).map((n) => n.eventId)); }, {
      connection: p.connection.duplicate(), prefix: p.config.queuePrefix, concurrency: 20,
    });
    await waitFor(() => seen.length >= distinct.size, 'the consumer to drain the results queue');
    await consumer.close();
    expect(new Set(seen)).toEqual(distinct);
  });

  it('posts every change once to the webhook, signed over the exact body, retrying 503s', async () => {
    const distinct = new Set(p.changes);
    const accepted = () => receiver.received.filter((r) => r.answered === 200);
    await waitFor(() => accepted().length >= distinct.size, 'every change to reach the webhook', 30_000);
    await sleep(300); // a duplicate would arrive now
    const ok = accepted();
    expect(ok.length).toBe(distinct.size);
    const ids = ok.map((r) => JSON.parse(r.body).eventId as string);
    expect(new Set(ids)).toEqual(distinct);
    for (const r of ok) {
      // Standard Webhooks: v1,<base64 HMAC-SHA256 of "id.timestamp.body">, computed here independently.
      const [id, ts, sig] = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => String(r.headers[h]));
      expect(ts).toMatch(/^\d{10}$/);
      expect(sig).toBe(`v1,${createHmac('sha256', SECRET).update(`${id}.${ts}.${r.body}`).digest('base64')}`);
      const headers = { 'webhook-id': id!, 'webhook-timestamp': ts!, 'webhook-signature': sig! };
      expect(() => verifyWebhook(SECRET, r.body, headers)).not.toThrow();
      expect(() => verifyWebhook(SECRET, `${r.body} `, headers)).toThrow();
      expect(id).toBe(JSON.parse(r.body).eventId);
      expect(orderNotificationSchema.safeParse(JSON.parse(r.body)).success).toBe(true);
    }
    const refused = receiver.received.filter((r) => r.answered === 503);
    expect(refused.length).toBeGreaterThan(0);
    // Each refused event came again and was then accepted.
    for (const r of refused) expect(ids).toContain(JSON.parse(r.body).eventId);
  });

  it('reads statistics by window and page: calls per tick = pages, never one per message', async () => {
    rig.sandbox.reset();
    const q = await rig.pipeline({ TWIN24_STATS_PAGE_SIZE: String(PAGE), TWIN24_RATE_LIMIT: '100/1s' });
    await q.sendOrders(ORDERS, 1_000);
    // Let every message reach its final state and result in the sandbox, so one tick settles all.
    await waitFor(() => rig.sandbox.twin24Messages().every((m) => m.status !== 'CREATED' && m.status !== 'PENDING' && (m.status !== 'DELIVERED' || m.result)), 'the sandbox timeline to finish');
    const seq = lastSeq(rig.sandbox);
    const summary = await q.tick();
    const requests = rig.analyseRequests(seq);

    const delivered = rig.sandbox.twin24Messages().filter((m) => m.status === 'DELIVERED').length;
    const messagePages = Math.ceil(ORDERS / PAGE);
    const sessionPages = Math.ceil(delivered / PAGE);
    const messageCalls = requests.filter((r) => r.path === '/statistics/messaging/messages');
    const sessionCalls = requests.filter((r) => r.path === '/statistics/chat/sessions');
    expect(summary).toMatchObject({ messageWindows: 1, sessionWindows: 1, correlated: delivered, failed: ORDERS - delivered, calls: requests.length });
    expect(messageCalls.map((r) => r.query.page)).toEqual(Array.from({ length: messagePages }, (_, i) => String(i)));
    expect(sessionCalls.map((r) => r.query.page)).toEqual(Array.from({ length: sessionPages }, (_, i) => String(i)));
    expect(requests.length).toBe(messagePages + sessionPages);
    expect(requests.length).toBeLessThan(ORDERS / 3);
    for (const r of requests) {
      expect(r.status).toBe(200);
      expect(r.query.limit).toBe(String(PAGE));
      // Sent as %2B: a raw "+" would have arrived as a space and been refused.
      expect(r.query.from).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
      expect(r.query.to).toMatch(/\+00:00$/);
    }
    for (const r of messageCalls) expect(r.query).toMatchObject({ channel: 'CHAT', fields: 'id,providerMessageId,status' });
    // Window mode: the window's sessions without a chatId filter, the seed's session fields.
    for (const r of sessionCalls) {
      expect(r.query.chatId).toBeUndefined();
      expect(r.query).toMatchObject({ fields: 'id,name,clientId,messengerType', withoutCount: 'false', withoutItems: 'false' });
    }
    expect(await q.pending.count()).toBe(0);
  });
});
