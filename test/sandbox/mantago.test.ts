import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../support/ports.js';
import { post } from './http.js';

let sandbox: Sandbox;
const creds = () => sandbox.credentials.mantago;
const broadcastUrl = (botId = creds().botId) => `${sandbox.urls.mantago}/openapi/broadcast?botId=${encodeURIComponent(botId)}`;
const tokenUrl = (botId = creds().botId) => `${sandbox.urls.mantago}/openapi/token?botId=${encodeURIComponent(botId)}`;
const bearer = (token = creds().token) => ({ authorization: `Bearer ${token}` });
const lineBody = (over: Record<string, unknown> = {}) => ({
  botId: creds().botId, clientIds: ['U1234'], platform: 'line', secret: creds().secret, intentId: 'rb2kYmMdW', name: 'order 1', ...over,
});

/** The last record, which must be the rejection of the request just sent. */
const last = () => sandbox.requests('mantago').at(-1)!;

beforeAll(async () => {
  sandbox = await startSandbox({ port: await freePort() });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('MantaGO broadcast', () => {
  it('accepts a LINE intent push and records the exact raw body', async () => {
    const raw = `{"botId":"sandbox-bot",  "clientIds":["U1","U2"],"platform":"line","secret":"sandbox-mantago-secret","intentId":"rb2kYmMdW","name":"paid"}`;
    const res = await post(broadcastUrl(), raw, bearer());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: 'Send customer broadcast successfully' });
    const [rec] = sandbox.accepted('mantago');
    expect(rec).toMatchObject({
      vendor: 'mantago', method: 'POST', path: '/openapi/broadcast', query: { botId: 'sandbox-bot' }, rawBody: raw, status: 200, accepted: true,
    });
    expect(rec!.body).toEqual(JSON.parse(raw));
    expect(rec!.headers.authorization).toBe('Bearer sandbox-mantago-token');
  });

  it('accepts a Facebook text push with a message tag', async () => {
    const res = await post(broadcastUrl(), lineBody({ platform: 'facebook', intentId: undefined, message: 'Paid!', fbTag: 'POST_PURCHASE_UPDATE' }), bearer());
    expect(res.status).toBe(200);
  });

  it.each([
    ['a wrong botId in the query', () => post(broadcastUrl('other-bot'), lineBody(), bearer())],
    ['no botId in the query', () => post(`${sandbox.urls.mantago}/openapi/broadcast`, lineBody(), bearer())],
    ['a wrong botId in the body', () => post(broadcastUrl(), lineBody({ botId: 'other-bot' }), bearer())],
  ])('answers 5001 (404) for %s', async (_name, send) => {
    const res = await send();
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, errResponse: { code: 5001, botId: 'sandbox-bot' } });
    expect(last()).toMatchObject({ status: 404, accepted: false });
    expect(last().reason).toMatch(/^5001: .*botId/);
  });

  it.each([
    ['no Authorization header', {}, {}],
    ['an unknown token', { authorization: 'Bearer nope' }, {}],
    ['a wrong secret', { authorization: 'Bearer sandbox-mantago-token' }, { secret: 'nope' }],
  ])('answers 1002 (403) for %s', async (_name, headers, over) => {
    const res = await post(broadcastUrl(), lineBody(over), headers);
    expect(res.status).toBe(403);
    expect(res.body.errResponse.code).toBe(1002);
    expect(last().reason).toMatch(/^1002: Permission denied/);
  });

  it.each([
    ['no clientIds', { clientIds: undefined }, /clientIds: is required/],
    ['empty clientIds', { clientIds: [] }, /clientIds: must list at least one client/],
    ['both intentId and message', { message: 'hi' }, /exactly one of intentId or message/],
    ['neither intentId nor message', { intentId: undefined }, /exactly one of intentId or message/],
    ['facebook without fbTag', { platform: 'facebook' }, /fbTag: required for platform "facebook"/],
    ['an unknown fbTag', { platform: 'facebook', fbTag: 'PROMOTION' }, /fbTag/],
    ['an unknown platform', { platform: 'telegram' }, /platform/],
    ['no secret', { secret: undefined }, /secret/],
  ])('answers 110000 (400) for %s', async (_name, over, reason) => {
    const res = await post(broadcastUrl(), lineBody(over), bearer());
    expect(res.status).toBe(400);
    expect(res.body.errResponse.code).toBe(110000);
    expect(last().reason).toMatch(/^110000: /);
    expect(last().reason).toMatch(reason);
  });

  it('answers 110000 for a body that is not JSON', async () => {
    const res = await post(broadcastUrl(), '{"botId":', bearer());
    expect(res.status).toBe(400);
    expect(res.body.errResponse.code).toBe(110000);
    expect(last().rawBody).toBe('{"botId":');
  });

  it('answers 37011 (404) for an unknown client', async () => {
    const res = await post(broadcastUrl(), lineBody({ clientIds: ['U1', 'unknown-42'] }), bearer());
    expect(res.status).toBe(404);
    expect(res.body.errResponse).toMatchObject({ code: 37011, message: 'client not found: unknown-42' });
    expect(last().reason).toBe('37011: client not found: unknown-42');
  });
});

describe('MantaGO token expiry and rotation', () => {
  it('expires the token (1004), refreshes with it, and retires the old pair (120000)', async () => {
    const old = { ...creds() };
    sandbox.expireToken('mantago');
    const expired = await post(broadcastUrl(), lineBody(), bearer());
    expect(expired.status).toBe(401);
    expect(expired.body.errResponse).toMatchObject({ code: 1004, message: 'Token is invalid or expired' });

    const refresh = await post(tokenUrl(), { secret: old.secret }, bearer(old.token));
    expect(refresh.status).toBe(200);
    expect(refresh.body).toMatchObject({ success: true, apiToken: expect.any(String), apiSecret: expect.any(String) });
    expect(refresh.body.apiToken).not.toBe(old.token);
    expect(refresh.body.apiSecret).not.toBe(old.secret);
    expect(creds()).toMatchObject({ token: refresh.body.apiToken, secret: refresh.body.apiSecret, botId: old.botId });

    // The old pair, or either half of it, now answers 120000.
    for (const [token, secret] of [[old.token, old.secret], [old.token, creds().secret], [creds().token, old.secret]] as const) {
      const res = await post(broadcastUrl(), lineBody({ secret }), bearer(token));
      expect(res.status).toBe(401);
      expect(res.body.errResponse.code).toBe(120000);
      expect(last().reason).toMatch(/^120000: /);
    }
    const again = await post(tokenUrl(), { secret: old.secret }, bearer(old.token));
    expect(again.body.errResponse.code).toBe(120000);

    const ok = await post(broadcastUrl(), lineBody(), bearer());
    expect(ok.status).toBe(200);
    expect(sandbox.accepted('mantago').map((r) => r.path)).toEqual(['/openapi/token', '/openapi/broadcast']);
  });

  it('refuses a refresh with a wrong secret or for another bot', async () => {
    const badSecret = await post(tokenUrl(), { secret: 'nope' }, bearer());
    expect(badSecret.body.errResponse.code).toBe(1002);
    const otherBot = await post(tokenUrl('other'), { secret: creds().secret }, bearer());
    expect(otherBot.body.errResponse.code).toBe(5001);
    expect(sandbox.accepted('mantago')).toHaveLength(0);
  });
});
