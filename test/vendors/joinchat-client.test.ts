import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JoinchatConfig } from '../../src/config/env.js';
import {
  PermanentVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError,
} from '../../src/delivery/errors.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { createJoinchatAdapter } from '../../src/vendors/joinchat/adapter.js';
import { JoinchatClient, serialiseSendMessage } from '../../src/vendors/joinchat/client.js';
import type { JoinchatPayload } from '../../src/vendors/joinchat/payload.js';
import { signJoinchatBody } from '../../src/vendors/joinchat/sign.js';
import { startStub, type Stub } from './joinchat-metabot.stub.js';

/**
 * The JoinChat client against a scripted server: the answers the strict sandbox never gives (a 200 that carries an
 * error, a proxy's HTML, Retry-After, a hang), and the exact request it makes.
 */
let stub: Stub;
beforeAll(async () => { stub = await startStub(); });
afterAll(async () => { await stub.close(); });

const SECRET = 'a-joinchat-secret-0123';
const config = (over: Partial<JoinchatConfig> = {}): JoinchatConfig => ({
  baseUrl: `${stub.url}/api/`, pageId: '1234567890123456789', secret: SECRET, signatureHeader: 'x-joinchat-signature',
  rateLimit: { max: 10, durationMs: 1_000 }, ...over,
});
const http = createVendorHttp(300);
const payload: JoinchatPayload = { recipient: { uuid: 'u-1' }, message: { template_type: 'text', text: 'Hello Wörld ✓' } };
const send = (over: Partial<JoinchatConfig> = {}) => new JoinchatClient(config(over), http).send(payload);
async function failure(p: Promise<unknown>): Promise<VendorError> {
  try {
    await p;
  } catch (e) {
    return e as VendorError;
  }
  throw new Error('expected the send to fail');
}

describe('the request', () => {
  it('posts the serialised body, signed over those exact bytes, to {base}/send_message', async () => {
    stub.answer({ status: 200, body: { success: true, recipient_id: 987654321 } });
    await expect(send()).resolves.toEqual({ recipientId: '987654321' });
    const req = stub.received.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/send_message');
    // page_id as the seed sends it, a JSON integer, with all 19 digits (a JS number would have rounded them).
    expect(req.raw).toBe('{"page_id":1234567890123456789,"recipient":{"uuid":"u-1"},"message":{"template_type":"text","text":"Hello Wörld ✓"}}');
    expect(req.headers['x-joinchat-signature']).toBe(createHmac('sha256', SECRET).update(Buffer.from(req.raw, 'utf8')).digest('base64'));
    expect(req.headers['content-type']).toBe('application/json');
  });

  it('uses the configured header name', async () => {
    stub.answer({ status: 200, body: { success: true } });
    await expect(send({ signatureHeader: 'x_joinchat_signature' })).resolves.toEqual({ recipientId: undefined });
    const req = stub.received.at(-1)!;
    expect(req.headers['x_joinchat_signature']).toBe(signJoinchatBody(req.raw, SECRET));
    expect(req.headers['x-joinchat-signature']).toBeUndefined();
  });

  it('serialises in the seed\'s key order and leaves out what is not set', () => {
    expect(serialiseSendMessage('p', { recipient: { id: '1' }, message: { template_type: 'text', text: 't' }, delay: 0, tag: 'HUMAN_AGENT' }))
      .toBe('{"page_id":"p","recipient":{"id":"1"},"message":{"template_type":"text","text":"t"},"tag":"HUMAN_AGENT","delay":0}');
  });

  it('signs like the seed\'s PHP example: base64_encode(hash_hmac("sha256", $params, API_SECRET, true))', () => {
    // Reference value computed independently with the same inputs (openssl dgst -sha256 -hmac xxxxx -binary | base64).
    const params = '{"page_id":12345,"recipient":{"id":"123456"},"message":{"template_type":"text","text":"Hello World"},"tag":"ACCOUNT_UPDATE","delay":1}';
    expect(signJoinchatBody(params, 'xxxxx')).toBe('pjxfCwQlwtXvvMRKAPy5T16qFq9qBYc3CEWjI45M3mo=');
  });
});

describe('answers', () => {
  it('200 with success:false is a failure classified by code: 10010 → permanent with code and msg', async () => {
    stub.answer({ status: 200, body: { success: false, error: { code: 10010, msg: 'Recipient not found' } } });
    const err = await failure(send());
    expect(err).toBeInstanceOf(PermanentVendorError);
    expect(err.message).toBe('joinchat 10010: Recipient not found');
    expect(err.code).toBe(10010);
  });

  it('200 with an unknown error code → permanent (retrying an unknown refusal could double-send)', async () => {
    stub.answer({ status: 200, body: { success: false, error: { code: 20001, msg: 'Page token expired' } } });
    const err = await failure(send());
    expect(err).toBeInstanceOf(PermanentVendorError);
    expect(err.message).toBe('joinchat 20001: Page token expired');
  });

  it('a 2xx that is not { success: false } is accepted (never a permanent failure: retry-failed would send twice), noting the shape', async () => {
    stub.answer({ status: 200, body: '<html>OK</html>' });
    await expect(send()).resolves.toEqual({ recipientId: undefined, unexpectedAnswer: 'HTTP 200: <html>OK</html>' });
    stub.answer({ status: 202, body: { ok: 1, recipient_id: 'r-9' } });
    await expect(send()).resolves.toEqual({ recipientId: 'r-9', unexpectedAnswer: 'HTTP 202: {"ok":1,"recipient_id":"r-9"}' });
    stub.answer({ status: 200, body: { success: false, error: { code: 10010, msg: 'Recipient not found' } } });
    expect((await failure(send())).message).toBe('joinchat 10010: Recipient not found');
  });

  it('JOINCHAT_PAGE_ID_FORMAT=string keeps page_id a string; a page id with letters is always one', () => {
    const payload = { recipient: { id: '1' }, message: { template_type: 'text' as const, text: 'hi' } };
    expect(serialiseSendMessage('12345', payload)).toBe('{"page_id":12345,"recipient":{"id":"1"},"message":{"template_type":"text","text":"hi"}}');
    expect(serialiseSendMessage('12345', payload, 'string')).toBe('{"page_id":"12345","recipient":{"id":"1"},"message":{"template_type":"text","text":"hi"}}');
    expect(serialiseSendMessage('page-1', payload)).toMatch(/^\{"page_id":"page-1",/);
    expect(serialiseSendMessage('007', payload)).toMatch(/^\{"page_id":"007",/);
  });

  it('4xx other than 429 → permanent, with JoinChat\'s code when the body has one', async () => {
    stub.answer({ status: 400, body: { success: false, error: { code: 10010, msg: 'Recipient not found' } } });
    expect((await failure(send())).message).toBe('joinchat 10010: Recipient not found');
    stub.answer({ status: 403, body: '<html>Forbidden</html>' });
    const err = await failure(send());
    expect(err).toBeInstanceOf(PermanentVendorError);
    expect(err.message).toBe('joinchat 403: HTTP 403');
  });

  it('429 → rate-limited, honouring Retry-After', async () => {
    stub.answer({ status: 429, body: { error: 'Too Many Requests' }, headers: { 'retry-after': '7' } });
    const err = await failure(send());
    expect(err).toBeInstanceOf(RateLimitedVendorError);
    expect((err as RateLimitedVendorError).retryAfterMs).toBe(7_000);
    expect(err.message).toBe('joinchat 429: Too Many Requests');
    stub.answer({ status: 429 });
    expect(((await failure(send())) as RateLimitedVendorError).retryAfterMs).toBeUndefined();
  });

  it('5xx → retryable, with JoinChat\'s text when given', async () => {
    stub.answer({ status: 503, body: { error: 'injected' } });
    expect(await failure(send())).toBeInstanceOf(RetryableVendorError);
    stub.answer({ status: 500, body: { success: false, error: { code: 50000, msg: 'Internal error' } } });
    const err = await failure(send());
    expect(err).toBeInstanceOf(RetryableVendorError);
    expect(err.message).toBe('joinchat 50000: Internal error');
  });

  it('a timeout or a refused connection → retryable, and the error does not carry the request (nor its signature)', async () => {
    stub.answer({ status: 200, hang: true });
    const timedOut = await failure(send());
    expect(timedOut).toBeInstanceOf(RetryableVendorError);
    expect(timedOut.message).toBe('joinchat: no answer (DEADLINE_EXCEEDED)');
    const signature = stub.received.at(-1)!.headers['x-joinchat-signature'] as string;
    expect(timedOut.cause).toBeUndefined();
    expect(inspect(timedOut, { depth: 10 })).not.toContain(signature);

    const refused = await failure(new JoinchatClient(config({ baseUrl: 'http://127.0.0.1:1/api' }), http).send(payload));
    expect(refused).toBeInstanceOf(RetryableVendorError);
    expect(refused.message).toBe('joinchat: no answer (ECONNREFUSED)');
  });
});

describe('adapter', () => {
  it('does not batch: one request per delivery, outcome carries recipient_id', async () => {
    const adapter = createJoinchatAdapter({ config: config(), http } as never);
    expect(adapter.maxBatch).toBe(1);
    expect(adapter.lingerMs).toBe(0);
    expect(adapter.batchKey).toBeUndefined();
    stub.answer({ status: 200, body: { success: true, recipient_id: '55' } });
    await expect(adapter.send([{ deliveryId: 'd', orderId: 'o', ruleId: 'r', payload }])).resolves.toEqual([{ ok: true, vendorMessageId: '55' }]);
  });

  it('a 2xx in an unknown shape is a send, with a warning naming the order and the body in the outcome', async () => {
    const warnings: Array<[Record<string, unknown>, string]> = [];
    const logger = { warn: (obj: Record<string, unknown>, msg: string) => warnings.push([obj, msg]) };
    const adapter = createJoinchatAdapter({ config: config(), http, logger } as never);
    stub.answer({ status: 200, body: '<html>OK</html>' });
    await expect(adapter.send([{ deliveryId: 'd', orderId: 'o-7', ruleId: 'r', payload }])).resolves.toEqual([
      { ok: true, vendorMessageId: undefined, details: { unexpectedAnswer: 'HTTP 200: <html>OK</html>' } },
    ]);
    expect(warnings).toEqual([[expect.objectContaining({ orderId: 'o-7', answer: 'HTTP 200: <html>OK</html>' }), 'joinchat answered 2xx in an unknown shape; counted as sent']]);
  });
});
