/**
 * The seed's recipe with the seed's own data: a server that answers exactly what seed 003 prints (steps 2 and 3),
 * our correlator tick in both lookup modes, real Redis. The seed's table must come out: message a06bc3d9… →
 * chat session 15d2652c… → result "Отказ"; its PENDING message stays pending.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyseClient } from '../../src/vendors/twin24/correlation/analyse-client.js';
import { runCorrelationTick } from '../../src/vendors/twin24/correlation/correlator.js';
import { PendingMessages } from '../../src/vendors/twin24/correlation/pending.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const seed = (f: string) => readFileSync(`test/fixtures/seeds/twin24/${f}`, 'utf8');
const MESSAGE = 'a06bc3d9-7980-4283-a5ec-77fb8133c50b';
const SESSION = '15d2652c-ada6-4505-9dee-81ce77b528dc';
const STILL_PENDING = 'de1b45f8-e06c-4169-8140-55b4f81841d6';
/** The seed's step 2 window: 2023-11-22 12:00–23:00 UTC. */
const SENT_AT = Date.parse('2023-11-22T13:00:00Z');

let redis: TestRedis;
let connection: RedisConnection;
let server: Server;
let base: string;
const asked: URL[] = [];

beforeAll(async () => {
  redis = await startRedis();
  connection = createRedis({ url: redis.url }, 'worker');
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    asked.push(url);
    const body = url.pathname.endsWith('/statistics/messaging/messages') ? seed('messages.response.json') : seed('sessions.response.json');
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});
afterAll(async () => {
  connection?.disconnect();
  server?.close();
  await redis?.stop();
});

describe.each(['window', 'per-session'] as const)('the seed\'s table, %s lookup', (mode) => {
  it('message → chat session (providerMessageId) → the bot\'s result', async () => {
    const prefix = `seed${mode.replace('-', '')}`;
    const pending = new PendingMessages(connection, prefix);
    const records = new OrderRecords(connection, prefix, 86_400_000);
    await pending.add([MESSAGE, STILL_PENDING].map((messageId, i) => ({ messageId, deliveryId: `wa.O${i}`, orderId: `O${i}`, ruleId: 'wa', sentAt: SENT_AT })));
    const client = new AnalyseClient({
      analyseUrl: base, http: createVendorHttp(3_000), pageSize: 1000, sessionFields: ['id', 'name', 'clientId', 'messengerType', 'nps'],
      tokens: { token: async () => 't', refresh: async () => 't' }, metrics: { observeCall: () => undefined, tokenRefreshed: () => undefined },
    });
    const from = asked.length;
    const summary = await runCorrelationTick({
      settings: { correlateMaxAgeMs: 72 * 3_600_000, correlateWindowMs: 6 * 3_600_000, sessionLookup: mode, resultKeys: [] },
      pending, records, client, logger: pino({ level: 'silent' }), now: () => SENT_AT + 3_600_000,
    });
    expect(summary).toMatchObject({ correlated: 1, failed: 0, timedOut: 0 });
    expect((await records.getDelivery('O0', 'wa.O0'))).toMatchObject({
      status: 'correlated', vendorMessageId: MESSAGE, vendorStatus: 'DELIVERED', chatId: SESSION,
      result: { nps: 'Тест', confirmation: 'Отказ', initialVariables: [] },
    });
    expect((await records.getDelivery('O1', 'wa.O1'))).toMatchObject({ status: 'sent', vendorStatus: 'PENDING' });
    expect(await pending.count()).toBe(1);

    const sessions = asked.slice(from).filter((u) => u.pathname.endsWith('/statistics/chat/sessions'));
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.searchParams.get('chatId')).toBe(mode === 'per-session' ? SESSION : null);
    expect(sessions[0]!.searchParams.get('fields')).toBe('id,name,clientId,messengerType,nps');
  });
});
