import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../support/ports.js';
import { get, post, sleep, waitFor } from './http.js';

let sandbox: Sandbox;
const STATIC = 'sandbox-twin24-token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const bearer = (token = STATIC) => ({ authorization: `Bearer ${token}` });
const creds = () => sandbox.credentials.twin24;

const chat = (over: Record<string, unknown> = {}) => ({
  chatId: creds().chatId, botId: creds().botId, messengerType: 'WHATSAPP', chatSessionName: 'Order 1', text: 'Hi {{name}}', provider: 'TWIN', ...over,
});
const messages = (destinations: unknown[], chatOver: Record<string, unknown> = {}) => ({
  messages: [{ channels: { chat: chat(chatOver) }, callbackUrl: 'https://shop.example/cb', callbackData: '123', destinations }],
});
const send = (body: unknown, token = STATIC) => post(`${sandbox.urls.twin24Notify}/messages`, body, bearer(token));
const login = (over: Record<string, unknown> = {}) =>
  post(`${sandbox.urls.twin24Iam}/auth/login`, { email: 'sandbox@example.com', password: 'sandbox-password', ttl: 3600, ...over });
const refresh = (refreshToken: string, ttl = 3600) => post(`${sandbox.urls.twin24Iam}/auth/refresh`, { refreshToken, ttl });

/** GET an analyse endpoint; URLSearchParams sends the offset's "+" as %2B, like the seed. */
const analyse = (path: string, params: Record<string, string | number | boolean>, token = STATIC) =>
  get(`${sandbox.urls.twin24Analyse}${path}?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)]))}`, bearer(token));
const pad = (n: number) => String(Math.floor(n)).padStart(2, '0');
/** An ISO 8601 time with an explicit offset (minutes east of UTC), e.g. 2023-11-22T19:00:00.000+07:00. */
const iso = (ms: number, offsetMin = 0) =>
  `${new Date(ms + offsetMin * 60_000).toISOString().slice(0, 23)}${offsetMin < 0 ? '-' : '+'}${pad(Math.abs(offsetMin) / 60)}:${pad(Math.abs(offsetMin) % 60)}`;
const around = (extraMs = 60_000) => ({ from: iso(Date.now() - extraMs), to: iso(Date.now() + extraMs) });
const messageStats = (params: Record<string, string | number | boolean> = {}) =>
  analyse('/statistics/messaging/messages', { ...around(), channel: 'CHAT', fields: 'id,providerMessageId,status', ...params });
const sessionStats = (params: Record<string, string | number | boolean> = {}) =>
  analyse('/statistics/chat/sessions', { ...around(), limit: 1000, page: 0, ...params });
const phone = (i: number) => `7999${String(i).padStart(7, '1')}`;

beforeAll(async () => {
  sandbox = await startSandbox({
    port: await freePort(),
    twin24: {
      // Wide enough apart that a loaded machine still sees each step.
      pendingAfterMs: 400,
      finalAfterMs: 1_000,
      resultAfterMs: 600,
      outcome: (p) => (p.endsWith('9') ? 'NEVER' : p.endsWith('8') ? 'EXPIRED' : p.endsWith('0') ? 'UNDELIVERED' : 'DELIVERED'),
    },
  });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('Twin24 auth', () => {
  it('logs in, refreshes once per refresh token, and counts both as accepted', async () => {
    const first = await login({ companyId: 'c1' });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ token: expect.any(String), refreshToken: expect.any(String) });
    expect((await send(messages([{ phone: phone(1) }]), first.body.token)).status).toBe(200);

    const second = await refresh(first.body.refreshToken);
    expect(second.status).toBe(200);
    expect(second.body.token).not.toBe(first.body.token);
    expect((await send(messages([{ phone: phone(1) }]), second.body.token)).status).toBe(200);
    const reused = await refresh(first.body.refreshToken);
    expect(reused.status).toBe(401);
    expect(sandbox.accepted('twin24').map((r) => r.path)).toEqual(['/auth/login', '/messages', '/auth/refresh', '/messages']);
  });

  it('refuses bad credentials (401) and a login without ttl (422)', async () => {
    const bad = await login({ password: 'nope' });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe('Invalid credentials');
    const noTtl = await login({ ttl: undefined });
    expect(noTtl.status).toBe(422);
    expect(noTtl.body).toMatchObject({ error: 'Validation failed', details: ['ttl: is required'] });
    expect(sandbox.accepted('twin24')).toHaveLength(0);
  });

  it('expires a token after its ttl', async () => {
    const { body } = await login({ ttl: 1 });
    expect((await send(messages([{ phone: phone(1) }]), body.token)).status).toBe(200);
    await sleep(1_100);
    const expired = await send(messages([{ phone: phone(1) }]), body.token);
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({ error: 'Token is expired.' });
    const renewed = await refresh(body.refreshToken);
    expect((await send(messages([{ phone: phone(1) }]), renewed.body.token)).status).toBe(200);
  });

  it('expireToken expires issued tokens until refreshed, and the static token for good', async () => {
    const { body } = await login();
    expect((await messageStats()).status).toBe(200);
    sandbox.expireToken('twin24');
    for (const token of [body.token, STATIC]) {
      const res = await send(messages([{ phone: phone(1) }]), token);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'Token is expired.' });
    }
    expect((await messageStats()).body).toEqual({ error: 'Token is expired.' });
    const renewed = await refresh(body.refreshToken);
    expect((await send(messages([{ phone: phone(1) }]), renewed.body.token)).status).toBe(200);
    expect((await send(messages([{ phone: phone(1) }]))).status).toBe(401);
    sandbox.reset();
    expect((await send(messages([{ phone: phone(1) }]))).status).toBe(200);
  });

  it('answers 401 Unauthorized for an unknown or missing token on notify and analyse', async () => {
    const unknown = await send(messages([{ phone: phone(1) }]), 'nope');
    expect(unknown).toMatchObject({ status: 401, body: { error: 'Unauthorized' } });
    const missing = await post(`${sandbox.urls.twin24Notify}/messages`, messages([{ phone: phone(1) }]));
    expect(missing.status).toBe(401);
    expect((await messageStats()).status).toBe(200);
    expect((await get(`${sandbox.urls.twin24Analyse}/statistics/messaging/messages?${new URLSearchParams(around())}`)).status).toBe(401);
    expect((await analyse('/statistics/chat/sessions', around(), 'nope')).status).toBe(401);
  });
});

describe('Twin24 send', () => {
  it('answers one entry per destination in order, with an ERROR entry for an invalid phone', async () => {
    const body = messages([
      { phone: '74992868341', variables: { name: 'Ivan', age: '23' }, messengerUserId: '74992868341' },
      { phone: '+7 499 286-83-44' },
      { phone: '74992868342' },
    ]);
    const raw = JSON.stringify(body, null, 1);
    const res = await send(raw);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(3);
    const [a, bad, c] = res.body;
    expect(a).toEqual({ id: expect.stringMatching(UUID), bulkId: expect.stringMatching(UUID), groupId: expect.stringMatching(UUID), flowId: expect.stringMatching(UUID), status: 'CREATED', channel: 'CHAT', error: null });
    expect(bad).toMatchObject({ id: null, status: 'ERROR', error: { code: 'INVALID_PHONE', message: expect.stringContaining('+7 499 286-83-44') } });
    expect(c).toMatchObject({ status: 'CREATED', error: null, bulkId: a.bulkId });
    expect(sandbox.twin24Messages().map((m) => [m.id, m.phone, m.variables])).toEqual([
      [a.id, '74992868341', { name: 'Ivan', age: '23' }],
      [c.id, '74992868342', {}],
    ]);
    expect(sandbox.accepted('twin24')[0]).toMatchObject({ path: '/messages', rawBody: raw, status: 200 });
  });

  it('flattens several messages[] entries in order, each with its own group', async () => {
    const body = { messages: [messages([{ phone: phone(1) }]).messages[0], messages([{ phone: phone(2) }, { phone: phone(3) }], { text: 'B' }).messages[0]] };
    const res = await send(body);
    expect(res.body.map((e: { status: string }) => e.status)).toEqual(['CREATED', 'CREATED', 'CREATED']);
    expect(res.body[1].groupId).toBe(res.body[2].groupId);
    expect(res.body[0].groupId).not.toBe(res.body[1].groupId);
    expect(sandbox.twin24Messages().map((m) => m.phone)).toEqual([phone(1), phone(2), phone(3)]);
  });

  it.each([
    ['another messenger type', () => messages([{ phone: phone(1) }], { messengerType: 'TELEGRAM' }), /^messages\[0\]\.channels\.chat\.messengerType: /],
    ['another provider', () => messages([{ phone: phone(1) }], { provider: 'OTHER' }), /^messages\[0\]\.channels\.chat\.provider: /],
    ['no chatSessionName', () => messages([{ phone: phone(1) }], { chatSessionName: undefined }), /chatSessionName: is required/],
    ['a number variable', () => messages([{ phone: phone(1), variables: { age: 23 } }]), /^messages\[0\]\.destinations\[0\]\.variables\.age: /],
    ['a number phone', () => messages([{ phone: 74992868344 }]), /^messages\[0\]\.destinations\[0\]\.phone: /],
    ['no destinations', () => messages([]), /^messages\[0\]\.destinations: must list at least one destination/],
    ['no messages', () => ({ messages: [] }), /^messages: must hold at least one message/],
    ['a callbackUrl that is no URL', () => ({ messages: [{ ...messages([{ phone: phone(1) }]).messages[0], callbackUrl: 'cb' }] }), /callbackUrl/],
  ])('answers 422 with details for %s', async (_name, body, detail) => {
    const res = await send(body());
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('Validation failed');
    expect(res.body.details.some((d: string) => detail.test(d))).toBe(true);
    expect(sandbox.requests('twin24').at(-1)).toMatchObject({ status: 422, accepted: false });
  });

  it('answers 400 for a body that is not JSON, 404 for another chat or bot, and creates nothing', async () => {
    expect((await send('{"messages":')).status).toBe(400);
    const otherChat = await send(messages([{ phone: phone(1) }], { chatId: '2daadc7b-2b7c-4fa3-822f-6ce3b2337f94' }));
    expect(otherChat).toMatchObject({ status: 404, body: { error: 'Chat not found' } });
    const otherBot = await send(messages([{ phone: phone(1) }], { botId: '913d39f6-066d-4bee-b6f7-c3fdeb321c50' }));
    expect(otherBot).toMatchObject({ status: 404, body: { error: 'Bot not found' } });
    expect(sandbox.twin24Messages()).toHaveLength(0);
    expect(sandbox.requests('twin24').at(-1)!.reason).toMatch(/^Bot not found: .*botId/);
  });
});

describe('Twin24 timeline and statistics', () => {
  it('moves each message CREATED -> PENDING -> outcome and gives delivered ones a session whose result comes later', async () => {
    const phones = ['74990000001', '74990000010', '74990000009', '74990000008'];
    const res = await send(messages(phones.map((p) => ({ phone: p, variables: { name: p } }))));
    const ids: string[] = res.body.map((e: { id: string }) => e.id);
    expect(sandbox.twin24Messages().map((m) => m.status)).toEqual(['CREATED', 'CREATED', 'CREATED', 'CREATED']);
    const statusOf = async () => {
      const { body } = await messageStats();
      return new Map<string, { status: string; providerMessageId: string | null }>(body.items.map((i: { id: string }) => [i.id, i]));
    };
    const created = await statusOf();
    expect(created.get(ids[0]!)).toEqual({ id: ids[0], status: 'CREATED', providerMessageId: null });

    const pending = await waitFor(async () => ((await statusOf()).get(ids[0]!)?.status === 'PENDING' ? statusOf() : undefined));
    for (const id of ids) expect(pending.get(id)?.providerMessageId ?? null).toBeNull();

    const final = await waitFor(async () => {
      const s = await statusOf();
      return s.get(ids[0]!)?.status === 'DELIVERED' ? s : undefined;
    });
    const sessionsNow = (await sessionStats()).body;
    expect([...ids].map((id) => final.get(id)?.status)).toEqual(['DELIVERED', 'UNDELIVERED', 'PENDING', 'EXPIRED']);
    const sessionId = final.get(ids[0]!)!.providerMessageId;
    expect(sessionId).toMatch(UUID);
    expect(final.get(ids[1]!)!.providerMessageId).toBeNull();
    expect(sessionsNow).toEqual({
      count: 1,
      // Before the bot answered, the seed's results object holds only its initialVariables.
      items: [{ id: sessionId, name: 'Order 1', clientId: '74990000001', messengerType: 'WHATSAPP', dialogResultsFromBotJson: { initialVariables: [] } }],
    });

    const withResult = await waitFor(async () => {
      const { body } = await sessionStats();
      return body.items[0]?.dialogResultsFromBotJson?.confirmation ? body : undefined;
    });
    expect(withResult.items[0].dialogResultsFromBotJson).toEqual({ nps: '10', confirmation: 'Подтверждено', phone: '74990000001', initialVariables: [] });
    expect(sandbox.twin24Messages()[0]).toMatchObject({ status: 'DELIVERED', providerMessageId: sessionId, result: { confirmation: 'Подтверждено' } });
    expect(sandbox.twin24Messages()[1]).toMatchObject({ status: 'UNDELIVERED', providerMessageId: null, result: null });
    // Statistics reads are recorded but never count as accepted.
    expect(sandbox.accepted('twin24').map((r) => r.path)).toEqual(['/messages']);
    expect(sandbox.requests('twin24').filter((r) => r.path.startsWith('/statistics/')).length).toBeGreaterThan(3);
  });

  it('pages across pages with the full count, and offset overrides page', async () => {
    const res = await send(messages(Array.from({ length: 25 }, (_, i) => ({ phone: phone(i) }))));
    const sent: string[] = res.body.map((e: { id: string }) => e.id);
    const pages = await Promise.all([0, 1, 2, 3].map((page) => messageStats({ limit: 10, page })));
    expect(pages.map((p) => p.body.count)).toEqual([25, 25, 25, 25]);
    expect(pages.map((p) => p.body.items.length)).toEqual([10, 10, 5, 0]);
    expect(pages.flatMap((p) => p.body.items.map((i: { id: string }) => i.id))).toEqual(sent);
    const slice = await messageStats({ limit: 3, page: 4, offset: 5 });
    expect(slice.body.items.map((i: { id: string }) => i.id)).toEqual(sent.slice(5, 8));
    const noCount = await messageStats({ limit: 1000, withoutCount: true });
    expect(noCount.body).toEqual({ items: expect.any(Array) });
    expect(noCount.body.items).toHaveLength(25);
    expect((await messageStats({ limit: 1001 })).status).toBe(400);
    expect((await messageStats({ limit: 0 })).status).toBe(400);
    expect((await messageStats({ page: -1 })).status).toBe(400);
  });

  it('filters by from/to with any offset, sent as %2B, and refuses missing or malformed times', async () => {
    const [a] = (await send(messages([{ phone: phone(1) }]))).body;
    await sleep(30);
    const between = Date.now();
    await sleep(30);
    const [b] = (await send(messages([{ phone: phone(2) }]))).body;
    const ids = async (from: string, to: string) =>
      (await analyse('/statistics/messaging/messages', { from, to, channel: 'CHAT', fields: 'id' })).body.items.map((i: { id: string }) => i.id);
    const far = Date.now() + 60_000;
    expect(await ids(iso(between - 60_000), iso(far))).toEqual([a.id, b.id]);
    expect(await ids(iso(between), iso(far))).toEqual([b.id]);
    expect(await ids(iso(between, 7 * 60), iso(far, -5 * 60))).toEqual([b.id]);
    expect(await ids(iso(between - 60_000, 7 * 60), iso(between, 7 * 60))).toEqual([a.id]);
    expect(await ids(new Date(between).toISOString(), iso(far))).toEqual([b.id]);

    const base = `${sandbox.urls.twin24Analyse}/statistics/messaging/messages`;
    const rawPlus = await get(`${base}?from=${iso(between)}&to=${iso(far)}`, bearer());
    expect(rawPlus.status).toBe(400);
    expect(rawPlus.body.details).toMatch(/must be sent as %2B/);
    const malformed: Record<string, string>[] = [
      { to: iso(far) },
      { from: iso(between) },
      { from: 'yesterday', to: iso(far) },
      { from: '2023-11-22T12:00:00', to: iso(far) },
      { from: '2023-11-22 12:00:00+00:00', to: iso(far) },
    ];
    for (const params of malformed) {
      const res = await get(`${base}?${new URLSearchParams(params)}`, bearer());
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Bad Request');
    }
  });

  it('selects item keys with fields and refuses unknown fields or channels', async () => {
    await send(messages([{ phone: phone(1) }]));
    expect(Object.keys((await messageStats({ fields: 'id,status' })).body.items[0])).toEqual(['id', 'status']);
    expect(Object.keys((await messageStats({ fields: 'providerMessageId' })).body.items[0])).toEqual(['providerMessageId']);
    const all = await analyse('/statistics/messaging/messages', around());
    expect(all.body.items[0]).toMatchObject({ id: expect.any(String), providerMessageId: null, status: 'CREATED', channel: 'CHAT', phone: phone(1) });
    const unknown = await messageStats({ fields: 'id,providerMessageID' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.details).toMatch(/providerMessageID/);
    expect((await messageStats({ channel: 'SMS' })).status).toBe(400);
  });

  it('lists the window\'s sessions, or by chatId = a session id as the seed, with paging, fields, withoutCount and withoutItems', async () => {
    await send(messages([{ phone: '74990000001' }, { phone: '74990000002' }, { phone: '74990000003' }]));
    const full = await waitFor(async () => {
      const { body } = await sessionStats();
      return body.count === 3 ? body : undefined;
    });
    expect(full.items.map((s: { clientId: string }) => s.clientId)).toEqual(['74990000001', '74990000002', '74990000003']);
    // The channel's chat id (the send body's chatId) is not a session id: it selects nothing.
    expect((await sessionStats({ chatId: creds().chatId })).body).toEqual({ count: 0, items: [] });
    // The seed passes a session id (the message's providerMessageId) as chatId: that finds the one session.
    expect((await sessionStats({ chatId: full.items[1].id })).body.items.map((s: { id: string }) => s.id)).toEqual([full.items[1].id]);
    const paged = await sessionStats({ limit: 2, page: 1 });
    expect(paged.body).toMatchObject({ count: 3, items: [{ clientId: '74990000003' }] });
    const picked = await sessionStats({ fields: 'id,clientId,nps' });
    expect(Object.keys(picked.body.items[0])).toEqual(['id', 'clientId', 'dialogResultsFromBotJson']);
    expect((await sessionStats({ withoutCount: true })).body).toEqual({ items: expect.any(Array) });
    expect((await sessionStats({ withoutItems: true })).body).toEqual({ count: 3 });
    expect((await analyse('/statistics/chat/sessions', { chatId: creds().chatId })).status).toBe(400);
  });
});
