import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../support/ports.js';
import { post } from './http.js';

let sandbox: Sandbox;
const SECRET = 'sandbox-joinchat-secret';
const sendUrl = () => `${sandbox.urls.joinchat}/send_message`;
/** Computed here, independently of the sandbox, from the spec: base64(HMAC-SHA256(raw body, secret)). */
const sign = (raw: string, secret = SECRET) => createHmac('sha256', secret).update(raw, 'utf8').digest('base64');
const signedPost = (body: unknown) => {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return post(sendUrl(), raw, { 'x-joinchat-signature': sign(raw) });
};
const envelope = (message: unknown, over: Record<string, unknown> = {}) => ({
  page_id: 12345, recipient: { id: '123456' }, message, ...over,
});
const last = () => sandbox.requests('joinchat').at(-1)!;

const webUrl = (title = 'Open') => ({ type: 'web_url', url: 'https://shop.example/orders/1', title });
const postback = (payload: unknown = { block_id: '123' }, title = 'Yes') => ({ type: 'postback', title, payload });
const el = (over: Record<string, unknown> = {}) => ({ title: 'Hat', subtitle: 'A nice hat', ...over });
const times = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
const receipt = (over: Record<string, unknown> = {}) => ({
  template_type: 'receipt', recipient_name: 'Ann', order_number: 'A-1', currency: 'USD', payment_method: 'Visa 1234',
  address: { street_1: '1 Main St', city: 'Springfield', postal_code: '12345', state: 'IL', country: 'US' },
  summary: { subtotal: 10, total_cost: 12.5 },
  adjustments: [{ name: 'coupon', amount: 1 }],
  elements: [{ title: 'Hat', price: 10, quantity: 1 }],
  ...over,
});

beforeAll(async () => {
  // The seed's own page id (12345), so bodies can be built with JSON.stringify; the default one is tried below.
  sandbox = await startSandbox({ port: await freePort(), credentials: { joinchat: { pageId: '12345' } } });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('JoinChat signature', () => {
  it('accepts a signed text message and records the exact raw bytes', async () => {
    const raw = '{"page_id":12345,"recipient":{"id":"123456"},"message":{"template_type":"text","text":"Hello Wörld ✓"},"tag":"ACCOUNT_UPDATE","delay":1}';
    const res = await signedPost(raw);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, recipient_id: '123456' });
    expect(sandbox.accepted('joinchat')).toHaveLength(1);
    expect(last()).toMatchObject({ path: '/send_message', rawBody: raw, accepted: true, status: 200 });
  });

  it('answers a stable recipient_id for recipients addressed by phone, email or uuid', async () => {
    const a = await signedPost(envelope({ template_type: 'text', text: 'hi' }, { recipient: { uuid: 'abc' } }));
    const b = await signedPost(envelope({ template_type: 'text', text: 'hi' }, { recipient: { uuid: 'abc' } }));
    expect(a.body.success).toBe(true);
    expect(a.body.recipient_id).toMatch(/^\d+$/);
    expect(b.body.recipient_id).toBe(a.body.recipient_id);
  });

  it('refuses a missing signature (401) and hints at the hyphen form', async () => {
    const raw = JSON.stringify(envelope({ template_type: 'text', text: 'hi' }));
    const res = await post(sendUrl(), raw, { x_joinchat_signature: sign(raw) });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ success: false, error: { code: 401 } });
    expect(last().reason).toMatch(/missing signature header x-joinchat-signature .*hyphen/);
  });

  it('refuses a signature made with another secret', async () => {
    const raw = JSON.stringify(envelope({ template_type: 'text', text: 'hi' }));
    const res = await post(sendUrl(), raw, { 'x-joinchat-signature': sign(raw, 'other-secret') });
    expect(res.status).toBe(401);
    expect(last().reason).toMatch(/signature does not match/);
  });

  it('refuses a body re-serialised with different whitespace after signing', async () => {
    const body = envelope({ template_type: 'text', text: 'hi' });
    const signed = JSON.stringify(body, null, 2);
    const sent = JSON.stringify(body);
    const res = await post(sendUrl(), sent, { 'x-joinchat-signature': sign(signed) });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe(401);
    expect(last().rawBody).toBe(sent);
  });
});

describe('JoinChat page_id as the seed sends it', () => {
  it('takes the digits of a page id above 2^53 exactly as written, and refuses a rounded one', async () => {
    const big = await startSandbox();
    try {
      const pageId = big.credentials.joinchat.pageId;
      expect(Number(pageId) > Number.MAX_SAFE_INTEGER).toBe(true);
      const body = (id: string) => `{"page_id":${id},"recipient":{"id":"1"},"message":{"template_type":"text","text":"hi"}}`;
      const send = (raw: string) => post(`${big.urls.joinchat}/send_message`, raw, { 'x-joinchat-signature': sign(raw) });
      expect((await send(body(pageId))).status).toBe(200);
      const rounded = String(Number(pageId));
      expect(rounded).not.toBe(pageId);
      expect((await send(body(rounded))).body.error.msg).toMatch(/is not this bot's page/);
    } finally {
      await big.close();
    }
  });
});

describe('JoinChat envelope', () => {
  it.each([
    ['another page', { page_id: 54321 }, /^page_id: 54321 is not this bot's page/],
    ['the page id as a string (the seed sends an integer)', { page_id: '12345' }, /^page_id: must be a JSON integer/],
    ['two recipient keys', { recipient: { id: '1', phone: '123' } }, /^recipient: must hold exactly one of/],
    ['no recipient key', { recipient: {} }, /^recipient: must hold exactly one of/],
    ['a delay over 10', { delay: 11 }, /^delay: must be 0 to 10/],
    ['a fractional delay', { delay: 1.5 }, /^delay: must be an integer/],
    ['an unknown tag', { tag: 'PROMO' }, /^tag: must be one of/],
  ])('refuses %s with code 100', async (_name, over, msg) => {
    const res = await signedPost(envelope({ template_type: 'text', text: 'hi' }, over));
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.error.code).toBe(100);
    expect(res.body.error.msg).toMatch(msg);
    expect(last().reason).toBe(`100: ${res.body.error.msg}`);
  });

  it('refuses a signed body that is not JSON with code 100', async () => {
    const res = await signedPost('{"page_id":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(100);
  });

  it('answers 10010 for an unknown recipient', async () => {
    const res = await signedPost(envelope({ template_type: 'text', text: 'hi' }, { recipient: { id: 'unknown-7' } }));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ success: false, error: { code: 10010, msg: 'Recipient not found' } });
  });
});

describe('JoinChat templates', () => {
  it.each([
    ['text at 640 characters', { template_type: 'text', text: 'x'.repeat(640) }],
    ['text of 640 emoji', { template_type: 'text', text: '✓'.repeat(640) }],
    ['button with 3 buttons', { template_type: 'button', text: 'Next?', buttons: [webUrl(), postback(), postback({ flow_id: 12 })] }],
    // The seed's own postback example carries both ids; its generic and list examples send a string payload.
    ['a postback with block_id and flow_id', { template_type: 'button', text: 'Next?', buttons: [postback({ block_id: '123', flow_id: '12' }), postback('DEVELOPER_DEFINED_PAYLOAD')] }],
    ['web_url buttons and default actions with the Messenger webview fields', { template_type: 'list', elements: [
      el({ buttons: [{ ...webUrl(), messenger_extensions: true, webview_height_ratio: 'tall', fallback_url: 'https://shop.example/' }] }),
      el({ default_action: { type: 'web_url', url: 'https://shop.example/v', messenger_extensions: false, webview_height_ratio: 'tall' } }),
    ] }],
    ['generic with 10 elements of 3 buttons', { template_type: 'generic', elements: times(10, () => el({ image_url: 'https://x.example/a.png', buttons: [webUrl(), postback(), webUrl()] })) }],
    ['list of 4 compact elements', { template_type: 'list', top_element_style: 'compact', elements: times(4, (i) => (i % 2 ? el() : el({ subtitle: undefined, image_url: 'https://x.example/a.png', buttons: [webUrl()] }))), buttons: [postback()] }],
    ['a full receipt', receipt({ elements: times(100, (i) => ({ title: `item ${i}`, price: 1 })) })],
  ])('accepts %s', async (_name, message) => {
    const res = await signedPost(envelope(message));
    expect(res.body).toMatchObject({ success: true });
    expect(res.status).toBe(200);
  });

  it.each([
    ['an unknown template_type', { template_type: 'video' }, /^message\.template_type: must be one of text, button, generic, list, receipt/],
    ['text over 640 characters', { template_type: 'text', text: 'x'.repeat(641) }, /^message\.text: must be at most 640 characters/],
    ['empty text', { template_type: 'text', text: '' }, /^message\.text: must not be empty/],
    ['button text over 640', { template_type: 'button', text: 'x'.repeat(641), buttons: [webUrl()] }, /^message\.text: must be at most 640/],
    ['button without buttons', { template_type: 'button', text: 'Next?', buttons: [] }, /^message\.buttons: needs at least 1 button/],
    ['button with 4 buttons', { template_type: 'button', text: 'Next?', buttons: times(4, () => webUrl()) }, /^message\.buttons: allows at most 3 buttons/],
    ['a button title over 20', { template_type: 'button', text: 'Next?', buttons: [webUrl('x'.repeat(21))] }, /^message\.buttons\[0\]\.title: must be at most 20/],
    ['a web_url that is no URL', { template_type: 'button', text: 'Next?', buttons: [{ type: 'web_url', url: 'orders/1', title: 'Go' }] }, /^message\.buttons\[0\]\.url: must be an http\(s\) URL/],
    ['an unknown button type', { template_type: 'button', text: 'Next?', buttons: [{ type: 'call', title: 'Go' }] }, /^message\.buttons\[0\]\.type: /],
    ['a postback with neither block_id nor flow_id', { template_type: 'button', text: 'Next?', buttons: [postback({})] }, /^message\.buttons\[0\]\.payload: /],
    ['a postback with an unknown payload key', { template_type: 'button', text: 'Next?', buttons: [postback({ block_id: '1', step: 2 })] }, /^message\.buttons\[0\]\.payload: /],
    ['a web_url with an unknown webview_height_ratio', { template_type: 'button', text: 'Next?', buttons: [{ ...webUrl(), webview_height_ratio: 'huge' }] }, /^message\.buttons\[0\]\.webview_height_ratio: must be compact, tall or full/],
    ['generic with 11 elements', { template_type: 'generic', elements: times(11, () => el()) }, /^message\.elements: allows at most 10 elements/],
    ['a generic title over 80', { template_type: 'generic', elements: [el({ title: 'x'.repeat(81) })] }, /^message\.elements\[0\]\.title: must be at most 80/],
    ['a generic subtitle over 80', { template_type: 'generic', elements: [el(), el({ subtitle: 'x'.repeat(81) })] }, /^message\.elements\[1\]\.subtitle: must be at most 80/],
    ['a generic element with 4 buttons', { template_type: 'generic', elements: [el({ buttons: times(4, () => postback()) })] }, /^message\.elements\[0\]\.buttons: allows at most 3 buttons/],
    ['list of 1 element', { template_type: 'list', elements: [el()] }, /^message\.elements: needs at least 2 elements/],
    ['list of 5 elements', { template_type: 'list', elements: times(5, () => el()) }, /^message\.elements: allows at most 4 elements/],
    ['a list element with neither image_url nor subtitle', { template_type: 'list', elements: [el(), { title: 'bare' }] }, /^message\.elements\[1\]: needs image_url or subtitle/],
    ['a list title over 80', { template_type: 'list', elements: [el(), el({ title: 'x'.repeat(81) })] }, /^message\.elements\[1\]\.title: must be at most 80/],
    ['a list element with 2 buttons', { template_type: 'list', elements: [el({ buttons: [webUrl(), webUrl()] }), el()] }, /^message\.elements\[0\]\.buttons: allows at most 1 button/],
    ['a list with 2 bottom buttons', { template_type: 'list', elements: [el(), el()], buttons: [webUrl(), webUrl()] }, /^message\.buttons: allows at most 1 bottom button/],
    ['a list with a huge top element', { template_type: 'list', top_element_style: 'huge', elements: [el(), el()] }, /^message\.top_element_style: must be "compact" or "large"/],
    ['a receipt without order_number', receipt({ order_number: undefined }), /^message\.order_number: is required/],
    ['a receipt without recipient_name', receipt({ recipient_name: undefined }), /^message\.recipient_name: is required/],
    ['a receipt without currency', receipt({ currency: undefined }), /^message\.currency: is required/],
    ['a receipt without payment_method', receipt({ payment_method: undefined }), /^message\.payment_method: is required/],
    ['a receipt without summary.total_cost', receipt({ summary: { subtotal: 10 } }), /^message\.summary\.total_cost: is required/],
    ['a receipt with 101 elements', receipt({ elements: times(101, () => ({ title: 'x', price: 1 })) }), /^message\.elements: allows at most 100 elements/],
    ['a receipt element without price', receipt({ elements: [{ title: 'x' }] }), /^message\.elements\[0\]\.price: is required/],
    ['a receipt element without title', receipt({ elements: [{ price: 1 }] }), /^message\.elements\[0\]\.title: is required/],
    ['a receipt address without city', receipt({ address: { street_1: '1 Main', postal_code: '1', state: 'IL', country: 'US' } }), /^message\.address\.city: is required/],
    ['a receipt with a price as a string', receipt({ elements: [{ title: 'x', price: '10' }] }), /^message\.elements\[0\]\.price: /],
  ])('refuses %s with code 100', async (_name, message, msg) => {
    const res = await signedPost(envelope(message));
    expect(res.status).toBe(400);
    expect(res.body.success).toBe(false);
    expect(res.body.error.code).toBe(100);
    expect(res.body.error.msg).toMatch(msg);
    expect(last()).toMatchObject({ status: 400, accepted: false });
  });
});
