import { createHmac } from 'node:crypto';
import axios from 'axios';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentVendorError } from '../../src/delivery/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import { deliveryId } from '../../src/queues/job-ids.js';
import { createLogger } from '../../src/runtime/logger.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { createJoinchatAdapter } from '../../src/vendors/joinchat/adapter.js';
import { postSigned, serialiseSendMessage } from '../../src/vendors/joinchat/client.js';
import type { JoinchatPayload } from '../../src/vendors/joinchat/payload.js';
import { waitFor } from '../support/wait.js';
import { capturingLogger, finalJobs, redisDump, runWorkerProcess, startRig, type Rig } from './joinchat-metabot.harness.js';

/** Computed here from the spec, independently of the client: base64(HMAC-SHA256(raw body, secret)). */
const expectedSignature = (raw: string, secret: string) => createHmac('sha256', secret).update(raw, 'utf8').digest('base64');

const text = (t = 'Hello World'): JoinchatPayload['message'] => ({ template_type: 'text', text: t });

let rig: Rig;
beforeAll(async () => { rig = await startRig(); });
afterAll(async () => { await rig?.close(); });
beforeEach(() => rig.sandbox.reset());
afterEach(async () => { await rig.cleanup(); });

describe('JoinChat end to end (producer → fan-out with routes.example.yaml → worker → sandbox)', () => {
  it('sends the messenger-receipt route byte for byte, with a valid signature', async () => {
    const config = rig.config();
    const { producer, records } = await rig.startPipeline('joinchat', config);
    await producer.orderPaid(SAMPLE_ORDER_PAID);
    const id = deliveryId(SAMPLE_ORDER_PAID.orderId, 'messenger-receipt');
    const { state } = (await finalJobs('joinchat', config, rig.redis.url, [id])).get(id)!;
    expect(state).toBe('completed');

    const [request, ...others] = rig.sandbox.requests('joinchat');
    expect(others).toEqual([]);
    expect(request).toMatchObject({ method: 'POST', path: '/send_message', status: 200, accepted: true });
    expect(request!.rawBody).toBe(
      // page_id as the seed writes it: a JSON integer, every digit of an id above 2^53 kept.
      `{"page_id":${rig.sandbox.credentials.joinchat.pageId},"recipient":{"id":"2468013579"},"message":{"template_type":"receipt",`
      + '"recipient_name":"Somchai Jaidee","order_number":"SAMPLE-1001","currency":"THB","payment_method":"Visa 4242",'
      + '"timestamp":1795230900,"summary":{"total_cost":1290},"elements":['
      + '{"title":"Jasmine rice 5 kg","quantity":2,"price":420,"currency":"THB"},'
      + '{"title":"Fish sauce","quantity":3,"price":150,"currency":"THB"}]},'
      + '"tag":"POST_PURCHASE_UPDATE","delay":5}',
    );
    expect(request!.headers['x-joinchat-signature']).toBe(expectedSignature(request!.rawBody, rig.sandbox.credentials.joinchat.secret));
    expect(request!.headers['x_joinchat_signature']).toBeUndefined();
    expect(await records.getDelivery(SAMPLE_ORDER_PAID.orderId, id)).toMatchObject({ status: 'sent', vendorMessageId: '2468013579', attempts: 1 });
  });

  it('addresses every recipient kind the event can carry (psid → id, phone, email, uuid)', async () => {
    const config = rig.config();
    const { producer, records } = await rig.startPipeline('joinchat', config);
    const kinds = {
      'R-ID': { psid: '1001' }, 'R-PHONE': { phone: '+66812345678' }, 'R-EMAIL': { email: 'ann@example.com' }, 'R-UUID': { uuid: 'c0ffee-42' },
    };
    for (const [orderId, messenger] of Object.entries(kinds)) {
      await producer.orderPaid({ ...SAMPLE_ORDER_PAID, orderId, customer: { ...SAMPLE_ORDER_PAID.customer, channels: { messenger } } });
    }
    const ids = Object.keys(kinds).map((o) => deliveryId(o, 'messenger-receipt'));
    const jobs = await finalJobs('joinchat', config, rig.redis.url, ids);
    expect([...jobs.values()].map((j) => j.state)).toEqual(['completed', 'completed', 'completed', 'completed']);

    const byOrder = new Map(rig.sandbox.accepted('joinchat').map((r) => [(r.body as any).message.order_number, r]));
    expect((byOrder.get('R-ID')!.body as any).recipient).toEqual({ id: '1001' });
    expect((byOrder.get('R-PHONE')!.body as any).recipient).toEqual({ phone: '+66812345678' });
    expect((byOrder.get('R-EMAIL')!.body as any).recipient).toEqual({ email: 'ann@example.com' });
    expect((byOrder.get('R-UUID')!.body as any).recipient).toEqual({ uuid: 'c0ffee-42' });
    // The record keeps JoinChat's recipient_id (Messenger's page-scoped id) as the vendor message id.
    for (const orderId of Object.keys(kinds)) {
      const answered = (byOrder.get(orderId)!.response as { recipient_id: string }).recipient_id;
      expect(await records.getDelivery(orderId, deliveryId(orderId, 'messenger-receipt'))).toMatchObject({ status: 'sent', vendorMessageId: answered });
    }
  });
});

describe('JoinChat signature over the exact bytes', () => {
  it('the sandbox catches a body re-serialised after signing: 401, recorded as rejected', async () => {
    const config = rig.config();
    const jc = config.vendors.joinchat!;
    const payload: JoinchatPayload = { recipient: { id: '123456' }, message: text() };
    const signed = serialiseSendMessage(jc.pageId, payload);
    const signature = expectedSignature(signed, jc.secret);
    const http = createVendorHttp(5_000);
    const url = `${jc.baseUrl}/send_message`;

    // Same JSON value, different bytes (whitespace, key order): the signature no longer matches.
    const reserialised = [JSON.stringify(JSON.parse(signed), null, 2), JSON.stringify({ recipient: payload.recipient, page_id: jc.pageId, message: payload.message })];
    for (const rawBody of reserialised) {
      const err = await postSigned({ http, url, rawBody, signature, signatureHeader: jc.signatureHeader }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermanentVendorError);
      expect((err as PermanentVendorError).message).toMatch(/^joinchat 401: signature does not match the body/);
    }
    // The control: the very bytes that were signed are accepted.
    await expect(postSigned({ http, url, rawBody: signed, signature, signatureHeader: jc.signatureHeader })).resolves.toEqual({ recipientId: '123456' });

    expect(rig.sandbox.requests('joinchat').map((r) => [r.status, r.accepted])).toEqual([[401, false], [401, false], [200, true]]);
    expect(rig.sandbox.requests('joinchat')[0]!.reason).toMatch(/signature does not match/);
  });

  it('a worker whose HTTP layer re-serialises after signing fails permanently (so the byte tests above can fail)', async () => {
    const config = rig.config();
    // The shared instance minus its identity transform: axios pretty-prints the already-signed string.
    const http = axios.create({ transformRequest: [(d: string) => JSON.stringify(JSON.parse(d), null, 1)], headers: { 'content-type': 'application/json' } });
    const adapter = createJoinchatAdapter({
      config: config.vendors.joinchat!, http, redis: rig.redis.client(), prefix: config.queuePrefix,
      logger: createLogger({ level: 'silent' }), metrics: new Metrics({ defaultMetrics: false }),
    });
    await rig.enqueue('joinchat', config, [{ id: 'resigned', payload: { recipient: { id: '1' }, message: text() } }]);
    await rig.startWorkers('joinchat', config, { adapter: adapter as never });
    const { job, state } = (await finalJobs('joinchat', config, rig.redis.url, ['resigned'])).get('resigned')!;
    expect(state).toBe('failed');
    expect(job.failedReason).toMatch(/^joinchat 401: signature does not match the body/);
    expect(rig.sandbox.requests('joinchat').map((r) => r.status)).toEqual([401]);
  });

  it('never puts the signature (or the secret) in logs, job data or anything else in Redis', async () => {
    const config = rig.config();
    const lines: string[] = [];
    await rig.enqueue('joinchat', config, [
      { id: 'ok', payload: { recipient: { id: '77' }, message: text() } },
      { id: 'nope', payload: { recipient: { id: 'unknown-77' }, message: text() } },
    ]);
    await rig.startWorkers('joinchat', config, { logger: capturingLogger(lines, config) });
    await finalJobs('joinchat', config, rig.redis.url, ['ok', 'nope']);
    await rig.cleanup();

    const signatures = rig.sandbox.requests('joinchat').map((r) => r.headers['x-joinchat-signature']!);
    expect(signatures).toHaveLength(2);
    const logs = lines.join('');
    expect(logs).toMatch(/delivered/);
    expect(logs).toMatch(/joinchat 10010: Recipient not found/);
    const stored = await redisDump(rig.redis.url, config.queuePrefix);
    expect(stored).toMatch(/Recipient not found/);
    for (const secret of [...signatures, config.vendors.joinchat!.secret]) {
      expect(logs).not.toContain(secret);
      expect(stored).not.toContain(secret);
    }
  });
});

describe('JoinChat templates and failures', () => {
  const templates: Record<string, JoinchatPayload['message']> = {
    text: text('Your order A-1 is paid ✓'),
    button: {
      template_type: 'button', text: 'What do you want to do next?',
      buttons: [
        { type: 'web_url', url: 'https://www.messenger.com', title: 'Visit Messenger' },
        { type: 'postback', title: 'Start Chatting', payload: { block_id: '123' } },
      ],
    },
    generic: {
      template_type: 'generic',
      elements: [{
        title: 'Welcome!', subtitle: 'We have the right hat for everyone.', image_url: 'https://petersfancybrownhats.com/company_image.png',
        default_action: { type: 'web_url', url: 'https://petersfancybrownhats.com/view?item=103' },
        buttons: [
          { type: 'web_url', url: 'https://petersfancybrownhats.com', title: 'View Website' },
          { type: 'postback', title: 'Start Chatting', payload: { flow_id: '12' } },
        ],
      }],
    },
    list: {
      template_type: 'list', top_element_style: 'compact',
      elements: [
        { title: 'Classic T-Shirt Collection', subtitle: 'See all our colors', image_url: 'https://shop.example.com/img/collection.png',
          buttons: [{ type: 'web_url', url: 'https://shop.example.com/collection', title: 'View' }] },
        { title: 'Classic White T-Shirt', subtitle: 'See all our colors', default_action: { type: 'web_url', url: 'https://shop.example.com/view?item=100' } },
        { title: 'Classic Blue T-Shirt', image_url: 'https://shop.example.com/img/blue-t-shirt.png' },
      ],
      buttons: [{ type: 'postback', title: 'View More', payload: { block_id: '9' } }],
    },
    receipt: {
      template_type: 'receipt', recipient_name: 'Ann Lee', order_number: 'A-1', currency: 'USD', payment_method: 'Visa 1234',
      order_url: 'https://shop.example.com/orders/A-1', timestamp: '1428444852',
      address: { street_1: '1 Hacker Way', city: 'Menlo Park', postal_code: '94025', state: 'CA', country: 'US' },
      summary: { subtotal: 75, shipping_cost: 4.95, total_tax: 6.19, total_cost: 56.14 },
      adjustments: [{ name: 'New Customer Discount', amount: 20 }],
      elements: [{ title: 'Classic White T-Shirt', subtitle: '100% Soft and Luxurious Cotton', quantity: 2, price: 50, currency: 'USD' }],
    },
  };

  it('delivers each of the five templates once, exactly as given', async () => {
    const config = rig.config();
    const names = Object.keys(templates);
    await rig.enqueue('joinchat', config, names.map((name) => ({ id: `tpl-${name}`, payload: { recipient: { id: `psid-${name}` }, message: templates[name], tag: 'ACCOUNT_UPDATE', delay: 1 } })));
    await rig.startWorkers('joinchat', config);
    const jobs = await finalJobs('joinchat', config, rig.redis.url, names.map((n) => `tpl-${n}`));
    expect([...jobs.values()].map((j) => j.state)).toEqual(names.map(() => 'completed'));

    const accepted = rig.sandbox.accepted('joinchat');
    expect(accepted).toHaveLength(5);
    for (const name of names) {
      const got = accepted.filter((r) => (r.body as any).recipient.id === `psid-${name}`);
      expect(got, name).toHaveLength(1);
      expect(got[0]!.rawBody.startsWith(`{"page_id":${rig.sandbox.credentials.joinchat.pageId},`)).toBe(true);
      expect({ ...JSON.parse(got[0]!.rawBody), page_id: 'checked above' }, name).toEqual({
        page_id: 'checked above', recipient: { id: `psid-${name}` }, message: templates[name], tag: 'ACCOUNT_UPDATE', delay: 1,
      });
      expect(got[0]!.headers['x-joinchat-signature']).toBe(expectedSignature(got[0]!.rawBody, rig.sandbox.credentials.joinchat.secret));
    }
  });

  it('an unknown recipient fails at once with JoinChat\'s code: 1 attempt, "joinchat 10010" in failedReason', async () => {
    const config = rig.config();
    await rig.enqueue('joinchat', config, [{ id: 'ghost', orderId: 'G-1', payload: { recipient: { email: 'unknown@example.com' }, message: text() } }]);
    const { records } = await rig.startWorkers('joinchat', config);
    const { job, state } = (await finalJobs('joinchat', config, rig.redis.url, ['ghost'])).get('ghost')!;
    expect(state).toBe('failed');
    expect(job.failedReason).toBe('joinchat 10010: Recipient not found');
    expect(job.attemptsMade).toBe(1);
    expect(rig.sandbox.requests('joinchat')).toHaveLength(1);
    expect(await records.getDelivery('G-1', 'ghost')).toMatchObject({ status: 'failed', reason: 'joinchat 10010: Recipient not found', attempts: 1 });
  });
});

describe('workers/joinchat.ts', () => {
  it('runs as its own process: delivers, answers /readyz, and exits 0 on SIGTERM without logging the signature', async () => {
    const config = rig.config();
    await rig.enqueue('joinchat', config, [{ id: 'proc-1', payload: { recipient: { id: '42' }, message: text() } }]);
    const proc = await runWorkerProcess('workers/joinchat.ts', rig, config);
    try {
      const { state } = (await finalJobs('joinchat', config, rig.redis.url, ['proc-1'])).get('proc-1')!;
      expect(state).toBe('completed');
      expect((await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`)).status).toBe(200);
    } finally {
      expect(await proc.stop()).toBe(0);
    }
    await waitFor(() => proc.output().includes('"msg":"delivered"'), 'the delivered log line', 2_000);
    expect(proc.output()).not.toContain(rig.sandbox.requests('joinchat')[0]!.headers['x-joinchat-signature']);
  });
});
