/**
 * The adapter and client on their own: the request body, the mapping of answers onto deliveries, and the error
 * taxonomy. Answers the sandbox never gives (402, a short array, odd error shapes) come from a scripted stub.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AxiosError } from 'axios';
import type { AppConfig } from '../../src/config/env.js';
import type { VendorError } from '../../src/delivery/errors.js';
import type { Delivery } from '../../src/delivery/types.js';
import { createTwin24Adapter } from '../../src/vendors/twin24/adapter.js';
import { classifyTwin24Failure } from '../../src/vendors/twin24/errors.js';
import { twin24PayloadSchema, type Twin24Payload } from '../../src/vendors/twin24/payload.js';
import { directCtx, phoneOf, sends, startTwin24Rig, type Twin24Rig } from './twin24-rig.js';

let rig: Twin24Rig;
let stub: Server;
let stubUrl: string;
let script: (body: string) => { status: number; body: unknown; headers?: Record<string, string> };
const stubBodies: string[] = [];
const stubAuth: Array<string | undefined> = [];

beforeAll(async () => {
  rig = await startTwin24Rig();
  stub = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => { raw += c.toString('utf8'); });
    req.on('end', () => {
      stubBodies.push(raw);
      stubAuth.push(req.headers.authorization);
      const a = script(raw);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => stub.close(r));
  await rig.close();
});
beforeEach(() => { rig.sandbox.reset(); stubBodies.length = 0; stubAuth.length = 0; });
afterEach(async () => { await rig.cleanup(); });

const delivery = (i: number, over: Partial<Twin24Payload> = {}, phone = phoneOf(i)): Delivery<Twin24Payload> => ({
  deliveryId: `r.O-${i}`, orderId: `O-${i}`, ruleId: 'r',
  payload: twin24PayloadSchema.parse({ chatSessionName: 'order-paid', text: 'Hi {{name}}', destination: { phone, variables: { name: `N${i}` } }, ...over }),
});
/** A delivery whose phone our schema would refuse (the adapter is handed it directly). */
const rawPhone = (i: number, phone: string): Delivery<Twin24Payload> => {
  const d = delivery(i);
  return { ...d, payload: { ...d.payload, destination: { ...d.payload.destination, phone } } };
};
const adapterFor = (config: AppConfig) => createTwin24Adapter(directCtx(rig, config));
const stubConfig = () => rig.config({ TWIN24_TOKEN: 'stub-token-abcdef', TWIN24_NOTIFY_URL: stubUrl });
const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as VendorError);
const entry = (id: string | null, error: unknown = null) => ({ id, bulkId: 'b', groupId: 'g', flowId: 'f', status: error ? 'ERROR' : 'CREATED', channel: 'CHAT', error });

describe('Twin24 adapter against the sandbox', () => {
  it('sends one request with one destination per delivery and maps ids by position', async () => {
    const adapter = adapterFor(rig.config());
    const batch = [0, 1, 2].map((i) => delivery(i));
    const outcomes = await adapter.send(batch);
    const created = new Map(rig.sandbox.twin24Messages().map((m) => [m.phone, m.id]));
    expect(outcomes).toEqual(batch.map((d) => ({ ok: true, vendorMessageId: created.get(d.payload.destination.phone) })));
    const [req] = sends(rig.sandbox);
    const c = rig.sandbox.credentials.twin24;
    expect(JSON.parse(req!.rawBody)).toEqual({
      messages: [{
        channels: { chat: { chatId: c.chatId, botId: c.botId, messengerType: 'WHATSAPP', chatSessionName: 'order-paid', text: 'Hi {{name}}', provider: 'TWIN' } },
        destinations: batch.map((d, i) => ({ phone: d.payload.destination.phone, variables: { name: `N${i}` } })),
      }],
    });
    expect(req!.headers.authorization).toMatch(/^Bearer tw24-/);
  });

  it('a destination Twin24 refuses fails alone, with Twin24\'s code and message', async () => {
    const adapter = adapterFor(rig.config());
    const outcomes = await adapter.send([delivery(0), rawPhone(1, '12-34'), delivery(2)]);
    expect(outcomes[0]).toMatchObject({ ok: true });
    expect(outcomes[2]).toMatchObject({ ok: true });
    const bad = outcomes[1] as { ok: false; error: VendorError };
    expect(bad.ok).toBe(false);
    expect(bad.error.kind).toBe('permanent');
    expect(bad.error.code).toBe('INVALID_PHONE');
    expect(bad.error.message).toMatch(/^twin24 INVALID_PHONE: phone "12-34" must be 7 to 15 digits/);
    expect(rig.sandbox.twin24Messages().map((m) => m.phone).sort()).toEqual([phoneOf(0), phoneOf(2)].sort());
  });

  it('chatId and botId of a rule override the configured ones; the batch key separates them', async () => {
    const adapter = adapterFor(rig.config());
    const a = delivery(0);
    const b = delivery(1, { chatId: 'another-chat' });
    expect(adapter.batchKey!(a.payload)).toBe(adapter.batchKey!(delivery(5).payload));
    expect(adapter.batchKey!(a.payload)).not.toBe(adapter.batchKey!(b.payload));
    expect(adapter.batchKey!(a.payload)).not.toBe(adapter.batchKey!(delivery(1, { text: 'Other {{name}}' }).payload));
    expect(adapter.batchKey!(a.payload)).not.toBe(adapter.batchKey!(delivery(1, { callbackData: 'x' }).payload));
    const err = await failure(adapter.send([b]));
    expect(err.kind).toBe('permanent');
    expect(err.message).toBe('twin24 404: send: Chat not found: messages[0].channels.chat.chatId: another-chat is not a chat of this account');
  });

  it('an expired token is refreshed via refreshAuth and the retry goes through', async () => {
    const adapter = adapterFor(rig.config());
    await adapter.send([delivery(0)]);
    rig.sandbox.expireToken('twin24');
    const err = await failure(adapter.send([delivery(1)]));
    expect(err.kind).toBe('auth_expired');
    await adapter.refreshAuth!();
    expect(await adapter.send([delivery(1)])).toEqual([{ ok: true, vendorMessageId: expect.any(String) }]);
  });
});

describe('Twin24 client error taxonomy (scripted answers)', () => {
  const cases: Array<[string, { status: number; body: unknown; headers?: Record<string, string> }, string, string]> = [
    ['401 expired', { status: 401, body: { error: 'Token is expired.' } }, 'auth_expired', 'twin24 401: send: Token is expired.'],
    // Any 401 from notify means the token is no good: refresh once, whatever the text.
    ['401 other', { status: 401, body: { error: 'Unauthorized' } }, 'auth_expired', 'twin24 401: send: Unauthorized'],
    ['401 not JSON', { status: 401, body: '<html>401</html>' }, 'auth_expired', 'twin24 401: send: Token is expired.'],
    ['400 with details list', { status: 400, body: { error: 'Bad Request', details: ['a: x', 'b: y'] } }, 'permanent', 'twin24 400: send: Bad Request: a: x; b: y'],
    ['403', { status: 403, body: { error: 'Forbidden', details: 'no WhatsApp channel' } }, 'permanent', 'twin24 403: send: Forbidden: no WhatsApp channel'],
    ['422 object details', { status: 422, body: { error: 'Validation failed', details: { field: 'text' } } }, 'permanent', 'twin24 422: send: Validation failed: {"field":"text"}'],
    ['402', { status: 402, body: { error: 'Payment Required' } }, 'permanent', 'twin24 402: send: out of balance: top up the Twin24 account, then retry the failed jobs (Payment Required)'],
    ['429', { status: 429, body: { error: 'Too Many Requests' }, headers: { 'retry-after': '7' } }, 'rate_limited', 'twin24 429: send: Too Many Requests'],
    ['500', { status: 500, body: { error: 'Internal' } }, 'retryable', 'twin24 500: send: Internal'],
    ['502 not JSON', { status: 502, body: '<html>bad gateway</html>' }, 'retryable', 'twin24 502: send: HTTP 502'],
    ['200 not an array', { status: 200, body: { ok: true } }, 'retryable', 'twin24: send: unexpected answer (Invalid input: expected array, received object)'],
  ];
  it.each(cases)('%s', async (_name, answer, kind, message) => {
    script = () => answer;
    const err = await failure(adapterFor(stubConfig()).send([delivery(0)]));
    expect(err.kind).toBe(kind);
    expect(err.message).toBe(message);
    if (kind === 'rate_limited') expect((err as unknown as { retryAfterMs: number }).retryAfterMs).toBe(7_000);
  });

  it('a 401 from IAM (login) is a refused credential, not an expired token', () => {
    const err = classifyTwin24Failure(Object.assign(new AxiosError('401'), { response: { status: 401, data: { error: 'Invalid credentials' }, headers: {} } }), 'login');
    expect(err.kind).toBe('permanent');
  });

  it('an answer with fewer entries than destinations fails the whole request as retryable (no guessing)', async () => {
    script = () => ({ status: 200, body: [entry('id-0'), entry('id-1')] });
    const err = await failure(adapterFor(stubConfig()).send([0, 1, 2].map((i) => delivery(i))));
    expect(err.kind).toBe('retryable');
    expect(err.message).toBe('twin24: send: answered 2 entries for 3 destinations');
  });

  it('maps per-entry errors of any documented shape; an entry without id or error is retryable for that delivery alone', async () => {
    script = () => ({ status: 200, body: [entry('id-0'), entry(null, 'blocked number'), entry(null, { code: 17, message: 'opted out' }), entry(null)] });
    const outcomes = await adapterFor(stubConfig()).send([0, 1, 2, 3].map((i) => delivery(i)));
    expect(outcomes[0]).toEqual({ ok: true, vendorMessageId: 'id-0' });
    expect(outcomes.slice(1).map((o) => (o.ok ? 'ok' : `${o.error.kind}|${o.error.message}`))).toEqual([
      'permanent|twin24: blocked number',
      'permanent|twin24 17: opted out',
      'retryable|twin24: send: answer entry has neither id nor error',
    ]);
    expect(JSON.parse(stubBodies[0]!).messages[0].destinations).toHaveLength(4);
  });

  it('sends the static token as a bearer and a body with callbackUrl, callbackData, messengerUserId in the documented order', async () => {
    script = () => ({ status: 200, body: [entry('id-0')] });
    const d = delivery(0, { callbackUrl: 'https://shop.example/cb', callbackData: '123', botId: 'bot-x' });
    d.payload.destination.messengerUserId = 'mu-1';
    await adapterFor(stubConfig()).send([d]);
    expect(stubAuth).toEqual(['Bearer stub-token-abcdef']);
    const c = rig.sandbox.credentials.twin24;
    expect(stubBodies[0]).toBe(JSON.stringify({
      messages: [{
        channels: { chat: { chatId: c.chatId, botId: 'bot-x', messengerType: 'WHATSAPP', chatSessionName: 'order-paid', text: 'Hi {{name}}', provider: 'TWIN' } },
        callbackUrl: 'https://shop.example/cb',
        callbackData: '123',
        destinations: [{ phone: phoneOf(0), messengerUserId: 'mu-1', variables: { name: 'N0' } }],
      }],
    }));
  });
});
