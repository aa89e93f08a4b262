import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Twin24Outcome } from '../../src/sandbox/types.js';
import { deliveryQueueName, sendsTo, startFallbackRig, waitFor, type FallbackRig } from './rig.js';

/**
 * Quiet hours with real Redis, workers and sandbox, and an injected clock: the order is paid on Saturday
 * 2026-03-28 at 21:30 in Berlin, the night Europe changes to summer time (02:00 → 03:00). The rule's window is
 * 09:00-21:00 in London, but the customer's own zone (Berlin) wins. The message must be held across midnight and the
 * DST change until Sunday 09:00 Berlin summer time = 07:00Z (London would say 08:00Z, a Berlin that ignored the
 * change 08:00Z). Time is moved by shifting the clock and promoting the delayed job, not by waiting.
 */
const ROUTES = `version: 1
rules:
  - id: receipt
    vendor: joinchat
    channel: messenger
    sendWindow: { from: "09:00", to: "21:00", timeZone: Europe/London }
    message: { delay: 3, message: { template_type: text, text: "Order {{orderId}} is paid." } }
  - id: wa
    vendor: twin24
    channel: whatsapp
    message: { chatSessionName: order-paid, text: 'Hello!' }
    fallback: ln
  - id: ln
    vendor: mantago
    channel: line
    fallbackOnly: true
    sendWindow: { from: "08:00", to: "20:00" }
    message: { message: "Order {{orderId}} is paid.", name: order-paid-fallback }
`;

const SATURDAY_2130_BERLIN = Date.parse('2026-03-28T20:30:00Z');
const SUNDAY_0900_BERLIN_SUMMER = '2026-03-29T07:00:00.000Z';

describe('quiet hours hold a message until the window opens in the customer zone', () => {
  let rig: FallbackRig;
  beforeAll(async () => {
    rig = await startFallbackRig({
      routesYaml: ROUTES,
      sandbox: { twin24: { pendingAfterMs: 50, finalAfterMs: 150, resultAfterMs: 50, outcome: (): Twin24Outcome => 'UNDELIVERED' } },
    });
  });
  afterAll(async () => { await rig?.close(); });

  it('across midnight and a DST change, keeping its job, its record and its vendor-native delay', async () => {
    rig.clock.offsetMs = SATURDAY_2130_BERLIN - Date.now();
    await rig.send('Q-1', { messenger: { psid: 'p-q1' } }, 'Europe/Berlin');
    const receipt = async () => (await rig.producer.getOrder('Q-1'))?.deliveries.find((d) => d.ruleId === 'receipt');
    const held = await waitFor(receipt, 'the record');
    expect(held).toMatchObject({ ruleId: 'receipt', status: 'scheduled', scheduledFor: SUNDAY_0900_BERLIN_SUMMER });
    const queue = rig.queue(deliveryQueueName('joinchat'));
    // The record is written before the job is added (so a fast "sent" can never be overwritten): wait for the job.
    const job = await waitFor(() => queue.getJob('receipt.Q-1'), 'the delivery job');
    expect(await job.getState()).toBe('delayed');
    // 10 h 30 min of real time for 11 h 30 min of wall clock: the night is one hour shorter.
    expect(job.delay).toBeGreaterThan(10.5 * 3_600_000 - 60_000);
    expect(job.delay).toBeLessThanOrEqual(10.5 * 3_600_000);

    // Woken too early (someone promotes it on the dashboard): the worker looks again and holds the same job.
    await job.promote();
    await waitFor(async () => {
      const again = (await queue.getJob('receipt.Q-1'))!;
      return again.attemptsStarted >= 1 && (await again.getState()) === 'delayed';
    }, 'the worker to look at it and hold it again');
    expect(sendsTo(rig.sandbox, 'joinchat', 'p-q1')).toBe(0);
    expect(await receipt()).toMatchObject({ status: 'scheduled', scheduledFor: SUNDAY_0900_BERLIN_SUMMER });

    // Sunday 09:00:01 in Berlin: the same job goes out, once, with JoinChat's own delay still in it.
    rig.clock.offsetMs = Date.parse(SUNDAY_0900_BERLIN_SUMMER) + 1_000 - Date.now();
    await (await queue.getJob('receipt.Q-1'))!.promote();
    await waitFor(async () => (await receipt())?.status === 'sent', 'sent after the window opened');
    expect(sendsTo(rig.sandbox, 'joinchat', 'p-q1')).toBe(1);
    const body = rig.sandbox.accepted('joinchat').find((r) => r.rawBody.includes('p-q1'))!.body as Record<string, unknown>;
    expect(body.delay).toBe(3);
    // Holding used no attempt (the record says sent a moment before the job completes).
    const done = await waitFor(async () => {
      const j = (await queue.getJob('receipt.Q-1'))!;
      return (await j.getState()) === 'completed' ? j : undefined;
    }, 'the job to complete');
    expect(done.attemptsMade).toBe(1);
  });

  it('a fallback respects its own window (UTC 08:00-20:00 here), not the primary one', async () => {
    rig.clock.offsetMs = Date.parse('2026-03-28T22:00:00Z') - Date.now(); // Saturday 22:00 UTC: ln's window closed
    await rig.send('Q-2', { whatsappPhone: '+66 81 000 0202', lineUserId: 'U-q2' });
    const order = await waitFor(async () => {
      const o = await rig.producer.getOrder('Q-2');
      return o?.deliveries.find((d) => d.ruleId === 'ln') ? o : undefined;
    }, 'the fallback to fire');
    expect(order.deliveries.find((d) => d.ruleId === 'wa')!.status).toBe('undelivered');
    expect(order.deliveries.find((d) => d.ruleId === 'ln')).toMatchObject({ status: 'scheduled', scheduledFor: '2026-03-29T08:00:00.000Z' });
    const fallback = await waitFor(() => rig.queue(deliveryQueueName('mantago')).getJob('ln.Q-2'), 'the fallback job');
    expect(await fallback.getState()).toBe('delayed');
    expect(sendsTo(rig.sandbox, 'mantago', 'U-q2')).toBe(0);
  });
});
