import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import { ORDERS_READ_TOKEN, startApi } from '../http/harness.js';
import type { Twin24Outcome } from '../../src/sandbox/types.js';
import { QUEUES } from '../../src/queues/names.js';
import { attemptsTo, deliveryQueueName, sendsTo, startFallbackRig, waitFor, type FallbackRig } from './rig.js';
import { sleep } from '../support/wait.js';

/**
 * Fallback chains end to end: real Redis, the real fan-out, delivery workers and Twin24 correlator (on its
 * scheduler), and the sandbox deciding each WhatsApp message's fate by the phone's last digit.
 */
const ROUTES = (after: string) => `version: 1
rules:
  - id: wa
    vendor: twin24
    channel: whatsapp
    message:
      chatSessionName: order-paid
      text: 'Hello \\{{name}}, your order is paid.'
      variables: { name: "{{customer.name}}" }
    fallback: { rule: ln, after: ${after} }
  - id: ln
    vendor: mantago
    channel: line
    fallbackOnly: true
    message: { message: "Order {{orderId}} is paid.", name: order-paid-fallback }
    fallback: ms
  - id: ms
    vendor: joinchat
    channel: messenger
    fallbackOnly: true
    message: { message: { template_type: text, text: "Order {{orderId}} is paid." } }
`;

const byLastDigit = (phone: string): Twin24Outcome => ({ 0: 'UNDELIVERED', 7: 'EXPIRED', 9: 'NEVER' } as Record<string, Twin24Outcome>)[phone.slice(-1)] ?? 'DELIVERED';
const metric = async (rig: FallbackRig, name: string, labels: Record<string, string>) =>
  (await rig.metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;

describe('fallback chains with receipts arriving quickly (after: 30s)', () => {
  let rig: FallbackRig;
  beforeAll(async () => {
    rig = await startFallbackRig({ routesYaml: ROUTES('30s'), sandbox: { twin24: { pendingAfterMs: 50, finalAfterMs: 200, resultAfterMs: 50, outcome: byLastDigit } } });
  });
  afterAll(async () => { await rig?.close(); });

  it('an undeliverable WhatsApp message is followed by exactly one LINE message', async () => {
    await rig.send('F-1', { whatsappPhone: '+66 81 000 0010', lineUserId: 'U-f1', messenger: { psid: 'p-f1' } });
    const order = await rig.settledChain('F-1');
    const [chain] = order.chains!;
    expect(chain).toMatchObject({ head: 'wa', state: 'reached', reached: 'ln' });
    expect(chain!.links.map((l) => [l.rule, l.status])).toEqual([['wa', 'undelivered'], ['ln', 'sent']]);
    expect(chain!.links[0]!.fallbackTo).toBe('ln');
    expect(chain!.links[1]!.firedBecause).toBe('wa: undelivered (UNDELIVERED)');
    expect(sendsTo(rig.sandbox, 'twin24', '66810000010')).toBe(1);
    expect(sendsTo(rig.sandbox, 'mantago', 'U-f1')).toBe(1);
    expect(attemptsTo(rig.sandbox, 'joinchat', 'p-f1')).toBe(0);
    // The hand-back tells the monolith the same story.
    // (each notification is added right after its record change)
    const notes = await waitFor(async () => {
      const all = await rig.notifications('F-1');
      return all.some((n) => n.ruleId === 'ln' && n.status === 'sent') ? all : undefined;
    }, 'the hand-back of the LINE message');
    expect(notes.find((n) => n.ruleId === 'wa' && n.status === 'undelivered')?.chain).toMatchObject({ head: 'wa', link: 0, fallbackTo: 'ln' });
    expect(notes.find((n) => n.ruleId === 'ln' && n.status === 'queued')?.chain).toMatchObject({ link: 1, firedBecause: 'wa: undelivered (UNDELIVERED)' });
    expect(notes.find((n) => n.ruleId === 'ln' && n.status === 'sent')?.chain).toMatchObject({ reachedCustomer: true });
    expect(await metric(rig, 'order_notify_fallback_links_total', { rule: 'ln', outcome: 'fired' })).toBeGreaterThanOrEqual(1);
    // And the CLI's `order` command.
    let stdout = '';
    const code = await main(['order', 'F-1'], {
      stdout: { write: (t: string) => { stdout += t; } }, stderr: { write: () => undefined }, stdin: Readable.from(['']),
      env: { REDIS_URL: rig.config.redis.url, QUEUE_PREFIX: rig.config.queuePrefix, LOG_LEVEL: 'silent' },
    });
    expect(code).toBe(0);
    expect(stdout).toContain('fallback chain wa: wa (twin24: undelivered) → ln (mantago: sent); reached the customer: ln [ln because wa: undelivered (UNDELIVERED)]');
    // And GET /v1/orders/{id}.
    const api = await startApi(rig.redis.url, { QUEUE_PREFIX: rig.config.queuePrefix });
    try {
      const res = await fetch(`${api.url}/v1/orders/F-1`, { headers: { authorization: `Bearer ${ORDERS_READ_TOKEN}` } });
      const body = await res.json() as { chains: unknown };
      expect(body.chains).toEqual([expect.objectContaining({ head: 'wa', state: 'reached', reached: 'ln' })]);
    } finally {
      await api.close();
    }
  });

  it('a delivered WhatsApp message is followed by none', async () => {
    await rig.send('F-2', { whatsappPhone: '+66 81 000 0021', lineUserId: 'U-f2', messenger: { psid: 'p-f2' } });
    const order = await rig.settledChain('F-2');
    expect(order.chains![0]).toMatchObject({ state: 'reached', reached: 'wa' });
    expect(order.deliveries.map((d) => d.ruleId)).toEqual(['wa']);
    expect(order.deliveries[0]!.reachedCustomer).toBe(true);
    // The `after` check was armed when it was sent; it did nothing after the delivery (promote it to see).
    const deadline = await waitFor(() => rig.queue(QUEUES.fallbackDeadlines).getJob('deadline.wa.F-2'), 'the armed deadline check');
    await deadline.promote();
    await waitFor(async () => (await rig.queue(QUEUES.fallbackDeadlines).getJob('deadline.wa.F-2'))?.returnvalue, 'the deadline check to run');
    expect((await rig.queue(QUEUES.fallbackDeadlines).getJob('deadline.wa.F-2'))!.returnvalue).toEqual({ action: 'none' });
    expect(attemptsTo(rig.sandbox, 'mantago', 'U-f2') + attemptsTo(rig.sandbox, 'joinchat', 'p-f2')).toBe(0);
  });

  it('a failed MantaGO send falls through to JoinChat (expired WhatsApp first)', async () => {
    // The sandbox answers MantaGO 37011 "client not found" for client ids starting with "unknown".
    await rig.send('F-3', { whatsappPhone: '+66 81 000 0037', lineUserId: 'unknown-f3', messenger: { psid: 'p-f3' } });
    const order = await rig.settledChain('F-3');
    const [chain] = order.chains!;
    expect(chain!.links.map((l) => [l.rule, l.status])).toEqual([['wa', 'expired'], ['ln', 'failed'], ['ms', 'sent']]);
    expect(chain).toMatchObject({ state: 'reached', reached: 'ms' });
    expect(chain!.links[2]!.firedBecause).toMatch(/^ln: failed - mantago 37011/);
    expect(attemptsTo(rig.sandbox, 'mantago', 'unknown-f3')).toBe(1); // permanent: not retried
    expect(sendsTo(rig.sandbox, 'joinchat', 'p-f3')).toBe(1);
  });

  it('passes over a link the customer cannot get; a customer without the head channel gets no chain', async () => {
    await rig.send('F-4', { whatsappPhone: '+66 81 000 0040', messenger: { psid: 'p-f4' } }); // no LINE
    const order = await rig.settledChain('F-4');
    expect(order.chains![0]!.links.map((l) => [l.rule, l.status])).toEqual([['wa', 'undelivered'], ['ln', 'skipped'], ['ms', 'sent']]);
    expect(order.chains![0]).toMatchObject({ state: 'reached', reached: 'ms' });
    expect(order.chains![0]!.links[2]!.firedBecause).toBe('wa: undelivered (UNDELIVERED)');
    expect(sendsTo(rig.sandbox, 'joinchat', 'p-f4')).toBe(1);

    await rig.send('F-6', { lineUserId: 'U-f6' }); // the chain starts with WhatsApp, which this customer has not
    const skipped = await waitFor(async () => (await rig.producer.getOrder('F-6'))?.deliveries[0], 'F-6 fanned out');
    expect(skipped).toMatchObject({ ruleId: 'wa', status: 'skipped' });
    await sleep(300);
    expect(attemptsTo(rig.sandbox, 'mantago', 'U-f6')).toBe(0);
  });

  it('many processes reporting the same failure at once fire the next link exactly once', async () => {
    // A chain whose head failed; 20 reports of that failure race (as stalled re-runs and repeated ticks would).
    await rig.send('F-5', { whatsappPhone: '+66 81 000 0059', lineUserId: 'U-f5' }); // NEVER: stays pending
    await waitFor(async () => (await rig.producer.getOrder('F-5'))?.deliveries.find((d) => d.ruleId === 'wa')?.status === 'sent', 'F-5 sent');
    const { FallbackChains } = await import('../../src/fallback/chains.js');
    const { OrderRecords } = await import('../../src/orders/record.js');
    const { createRedis } = await import('../../src/queues/connection.js');
    const pino = (await import('pino')).default;
    const conns = Array.from({ length: 4 }, () => createRedis(rig.config.redis, 'worker'));
    const racers = conns.map((c) => new FallbackChains({
      config: rig.config, connection: c, metrics: rig.metrics, logger: pino({ level: 'silent' }),
      records: new OrderRecords(c, rig.config.queuePrefix, rig.config.orderRetentionMs),
    }));
    const change = { deliveryId: 'wa.F-5', ruleId: 'wa', status: 'error' as const, vendorStatus: 'ERROR' };
    const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => racers[i % racers.length]!.onChange('F-5', change)));
    expect(verdicts.filter((v) => v?.action === 'fire')).toHaveLength(1);
    await waitFor(async () => sendsTo(rig.sandbox, 'mantago', 'U-f5') === 1, 'the one LINE message');
    const jobs = await rig.queue(deliveryQueueName('mantago')).getJobs(['completed', 'active', 'waiting', 'delayed'], 0, -1);
    expect(jobs.filter((j) => j.id === 'ln.F-5')).toHaveLength(1);
    for (const r of racers) await r.close();
    for (const c of conns) c.disconnect();
  });
});

describe('fallback chains when the receipt comes late (after: 1s, WhatsApp delivered only after 4 s)', () => {
  let rig: FallbackRig;
  beforeAll(async () => {
    rig = await startFallbackRig({ routesYaml: ROUTES('1s'), sandbox: { twin24: { pendingAfterMs: 50, finalAfterMs: 4_000, resultAfterMs: 50, outcome: byLastDigit } } });
  });
  afterAll(async () => { await rig?.close(); });

  it('fires the fallback once at `after`, and the late delivery of the primary sends no third message', async () => {
    await rig.send('L-1', { whatsappPhone: '+66 81 000 0101', lineUserId: 'U-l1', messenger: { psid: 'p-l1' } });
    const fired = await waitFor(async () => {
      const o = await rig.producer.getOrder('L-1');
      return o?.deliveries.find((d) => d.ruleId === 'ln' && d.status === 'sent') ? o : undefined;
    }, 'the LINE fallback to be sent');
    const wa = fired.deliveries.find((d) => d.ruleId === 'wa')!;
    expect(wa.status).toBe('sent'); // still pending at Twin24 when the fallback fired
    expect(wa.fallbackTo).toBe('ln');
    expect(fired.deliveries.find((d) => d.ruleId === 'ln')!.chain?.firedBecause).toBe('wa: not confirmed delivered within 1s of sending');
    // Twin24 then reports DELIVERED for the primary: recorded and counted, nothing else is sent.
    const late = await waitFor(async () => {
      const o = await rig.order('L-1');
      return o.deliveries.find((d) => d.ruleId === 'wa')?.lateDelivery ? o : undefined;
    }, 'the late delivery of the primary to be recorded');
    expect(late.deliveries.find((d) => d.ruleId === 'wa')!.vendorStatus).toBe('DELIVERED');
    expect(late.chains![0]).toMatchObject({ state: 'reached', reached: 'ln' });
    expect(await metric(rig, 'order_notify_fallback_late_deliveries_total', { rule: 'wa' })).toBe(1);
    await sleep(500); // a few more correlator ticks
    expect(sendsTo(rig.sandbox, 'twin24', '66810000101')).toBe(1);
    expect(sendsTo(rig.sandbox, 'mantago', 'U-l1')).toBe(1);
    expect(attemptsTo(rig.sandbox, 'joinchat', 'p-l1')).toBe(0);
    expect((await rig.order('L-1')).deliveries.map((d) => d.ruleId).sort()).toEqual(['ln', 'wa']);
  });
});

describe('a fired fallback still held by quiet hours when the primary turns up delivered', () => {
  let rig: FallbackRig;
  beforeAll(async () => {
    rig = await startFallbackRig({
      routesYaml: `version: 1
rules:
  - id: wa
    vendor: twin24
    channel: whatsapp
    message: { chatSessionName: order-paid, text: 'Hello!' }
    fallback: { rule: ln, after: 1s }
  - id: ln
    vendor: mantago
    channel: line
    fallbackOnly: true
    sendWindow: { from: "09:00", to: "21:00", timeZone: UTC }
    message: { message: "Order {{orderId}} is paid.", name: order-paid-fallback }
`,
      sandbox: { twin24: { pendingAfterMs: 50, finalAfterMs: 3_000, resultAfterMs: 50, outcome: () => 'DELIVERED' } },
    });
  });
  afterAll(async () => { await rig?.close(); });

  it('is cancelled right before sending: only the primary reaches the customer', async () => {
    rig.clock.offsetMs = Date.parse('2026-11-21T23:00:00Z') - Date.now(); // 23:00 UTC: ln's window is closed
    await rig.send('C-1', { whatsappPhone: '+66 81 000 0301', lineUserId: 'U-c1' });
    const held = await waitFor(async () => (await rig.producer.getOrder('C-1'))?.deliveries.find((d) => d.ruleId === 'ln'), 'the fallback to fire');
    expect(held).toMatchObject({ status: 'scheduled', scheduledFor: '2026-11-22T09:00:00.000Z' });
    await waitFor(async () => (await rig.order('C-1')).deliveries.find((d) => d.ruleId === 'wa')?.reachedCustomer, 'the primary delivered late', 10_000);
    // Morning: the held fallback comes due and is cancelled at the gate instead of sent.
    rig.clock.offsetMs = Date.parse('2026-11-22T09:00:30Z') - Date.now();
    const job = await waitFor(() => rig.queue(deliveryQueueName('mantago')).getJob('ln.C-1'), 'the fallback job');
    await job.promote();
    const order = await waitFor(async () => {
      const o = await rig.order('C-1');
      return o.deliveries.find((d) => d.ruleId === 'ln')?.status === 'cancelled' ? o : undefined;
    }, 'the fallback to be cancelled');
    expect(order.deliveries.find((d) => d.ruleId === 'ln')!.reason).toBe('not sent: wa (an earlier link of the chain) reached the customer');
    expect(order.deliveries.find((d) => d.ruleId === 'wa')).toMatchObject({ reachedCustomer: true, lateDelivery: true });
    expect(order.chains![0]).toMatchObject({ state: 'reached', reached: 'wa' });
    expect(attemptsTo(rig.sandbox, 'mantago', 'U-c1')).toBe(0);
    expect(await metric(rig, 'order_notify_fallback_links_total', { rule: 'ln', outcome: 'cancelled' })).toBe(1);
    expect(await metric(rig, 'order_notify_fallback_late_deliveries_total', { rule: 'wa' })).toBe(1);
  });
});
