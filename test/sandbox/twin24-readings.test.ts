/** The readings of seed 003 that the sandbox can play, so tests cover a server that takes either one. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { get, post, sleep } from './http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const bearer = () => ({ authorization: 'Bearer sandbox-twin24-token' });
const around = (extraMs = 60_000) => ({ from: new Date(Date.now() - extraMs).toISOString(), to: new Date(Date.now() + extraMs).toISOString() });
const chat = () => ({ messengerType: 'WHATSAPP', chatSessionName: 'Order 1', text: 'Hi {{name}}', provider: 'TWIN' });

describe('Twin24 statistics, the readings a server may take', () => {
  let strict: Sandbox;
  beforeAll(async () => {
    strict = await startSandbox({
      twin24: {
        pendingAfterMs: 0, finalAfterMs: 50, resultAfterMs: 0, readAfterMs: 50, limitCap: 2, requireSessionChatId: true, botVariablesOnItem: true,
        outcome: (p) => (p.endsWith('5') ? 'SEEN_BY_USER' : 'DELIVERED'),
      },
    });
  });
  afterAll(async () => { await strict.close(); });
  const ask = (path: string, params: Record<string, string | number | boolean>) =>
    get(`${strict.urls.twin24Analyse}${path}?${new URLSearchParams(Object.entries({ ...around(), ...params }).map(([k, v]): [string, string] => [k, String(v)]))}`, bearer());

  it('caps limit (pages count in served pages), refuses sessions without chatId, turns DELIVERED into READ, reports unknown statuses', async () => {
    const c = strict.credentials.twin24;
    await post(`${strict.urls.twin24Notify}/messages`, {
      messages: [{ channels: { chat: { ...chat(), chatId: c.chatId, botId: c.botId } }, destinations: ['74990000001', '74990000002', '74990000003', '74990000005'].map((phone) => ({ phone })) }],
    }, bearer());
    await sleep(150);
    const pages = await Promise.all([0, 1, 2].map((page) => ask('/statistics/messaging/messages', { limit: 500, page, channel: 'CHAT', fields: 'id,providerMessageId,status' })));
    expect(pages.map((p) => p.body.items.length)).toEqual([2, 2, 0]);
    expect(pages.map((p) => p.body.count)).toEqual([4, 4, 4]);
    const items = pages.flatMap((p) => p.body.items as Array<{ status: string; providerMessageId: string }>);
    expect(items.map((i) => i.status)).toEqual(['READ', 'READ', 'READ', 'SEEN_BY_USER']);
    for (const i of items) expect(i.providerMessageId).toMatch(UUID);

    const refused = await ask('/statistics/chat/sessions', { limit: 500, page: 0 });
    expect(refused.status).toBe(400);
    expect(refused.body.details).toMatch(/chatId: required/);
    const one = await ask('/statistics/chat/sessions', { limit: 500, page: 0, chatId: items[3]!.providerMessageId, fields: 'id,name,clientId,messengerType,nps' });
    expect(one.body).toEqual({
      count: 1,
      items: [{ id: items[3]!.providerMessageId, name: 'Order 1', clientId: '74990000005', messengerType: 'WHATSAPP', nps: '10', dialogResultsFromBotJson: { nps: '10', confirmation: 'Подтверждено', phone: '74990000005', initialVariables: [] } }],
    });
  });
});
