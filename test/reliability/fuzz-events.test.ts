import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../src/events/order-paid.js';
import { createApiServer, INGEST_PATH, type ApiServer } from '../../src/http/server.js';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { createLogger } from '../../src/runtime/logger.js';
import { testConfig } from '../support/config.js';
import { testOrder } from '../support/orders.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { hostileBytes, hostileEvent, namesField, type HostileCase } from './hostile-events.js';

/**
 * Scenario 5, first half: 10,000 generated malformed or hostile order.paid bodies through the producer (in
 * process) and 10,000 through the ingest endpoint (fastify inject: the full HTTP pipeline without sockets). Each
 * must be refused with field errors naming the bad field, nothing may crash, and nothing may reach Redis.
 */
const RUNS = 10_000;
const INGEST_TOKEN = 'fuzz-ingest-token-0123456789abcdef';

describe('fuzzing order.paid bodies', () => {
  let redis: TestRedis;
  let producer: OrderNotifyProducer;
  let api: ApiServer;
  let keysBefore: string[];
  const config = () => testConfig(redis.url, { INGEST_TOKEN, DASHBOARD_ENABLED: 'false' });

  beforeAll(async () => {
    redis = await startRedis();
    const c = config();
    producer = createProducer({ redisUrl: redis.url, prefix: c.queuePrefix });
    api = await createApiServer({ config: c, logger: createLogger({ level: 'silent' }), queueGauges: false });
    // Warm both up (connection made) so the key snapshot below is what an idle system holds.
    await producer.getOrder('warm-up');
    keysBefore = (await redis.client().keys('*')).sort();
  });
  afterAll(async () => {
    await api?.close();
    await producer?.close();
    await redis?.stop();
  });

  it(`the producer refuses ${RUNS.toLocaleString('en')} hostile bodies, each with field errors naming the bad field`, async () => {
    const kinds = new Map<string, number>();
    await fc.assert(fc.asyncProperty(hostileEvent, async (c: HostileCase) => {
      kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
      const error = await producer.orderPaid(c.body).then(() => undefined, (e: unknown) => e);
      if (!(error instanceof InvalidEventError)) throw new Error(`${c.kind} (${c.field}) was ${error ? `refused with ${String(error)}` : 'ACCEPTED'}`);
      if (!namesField(error.fieldErrors, c.field)) throw new Error(`${c.kind}: no field error names ${c.field}: ${JSON.stringify(error.fieldErrors).slice(0, 300)}`);
    }), { numRuns: RUNS });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    console.info(`[fuzz-producer] ${RUNS} bodies refused: ${JSON.stringify(Object.fromEntries(kinds))}`);
  });

  it(`the ingest endpoint answers 400 with field errors to ${RUNS.toLocaleString('en')} hostile bodies (incl. invalid UTF-8)`, async () => {
    const kinds = new Map<string, number>();
    const cases = fc.oneof({ arbitrary: hostileEvent, weight: 9 }, { arbitrary: hostileBytes, weight: 1 });
    await fc.assert(fc.asyncProperty(cases, async (c: HostileCase) => {
      kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
      const res = await api.app.inject({
        method: 'POST', url: INGEST_PATH,
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
        payload: c.bytes ?? JSON.stringify(c.body),
      });
      const answer = res.json() as { errors?: Array<{ field: string; message: string }> };
      if (res.statusCode !== 400) throw new Error(`${c.kind} (${c.field}) answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
      const errors = answer.errors ?? [];
      if (!errors.every((e) => typeof e.field === 'string' && typeof e.message === 'string' && e.message.length > 0) || !namesField(errors, c.field)) {
        throw new Error(`${c.kind}: the field errors do not name ${c.field}: ${res.body.slice(0, 300)}`);
      }
    }), { numRuns: RUNS });
    console.info(`[fuzz-http] ${RUNS} bodies answered 400: ${JSON.stringify(Object.fromEntries(kinds))}`);
  });

  it('enqueued nothing and still takes a valid event afterwards (nothing crashed)', async () => {
    expect((await redis.client().keys('*')).sort()).toEqual(keysBefore);
    const res = await api.app.inject({
      method: 'POST', url: INGEST_PATH,
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify(testOrder('fuzz-ok', 1)),
    });
    expect(res.statusCode).toBe(202);
    expect((await producer.orderPaid(testOrder('fuzz-ok', 2))).duplicate).toBe(false);
  });
});
