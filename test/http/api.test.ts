import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { createApiServer } from '../../src/http/server.js';
import { OrderRecords } from '../../src/orders/record.js';
import { QUEUES } from '../../src/queues/names.js';
import { createLogger } from '../../src/runtime/logger.js';
import { StartupError } from '../../src/runtime/exit-codes.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { testConfig } from '../support/config.js';
import { INGEST_TOKEN, ORDERS_READ_TOKEN, postEvent, startApi, type RunningApi } from './harness.js';

const event = (orderId: string, extra: Record<string, unknown> = {}) => ({ ...SAMPLE_ORDER_PAID, orderId, ...extra });

describe('HTTP API', () => {
  let redis: TestRedis;
  let run: RunningApi;

  beforeAll(async () => {
    redis = await startRedis();
    run = await startApi(redis.url, { INGEST_BODY_LIMIT: '4096' });
  });
  afterAll(async () => {
    await run?.close();
    await redis?.stop();
  });

  it('refuses ingest without a token or with a wrong one (401), and enqueues nothing', async () => {
    const none = await postEvent(run.url, event('AUTH-1'), null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await postEvent(run.url, event('AUTH-1'), `${INGEST_TOKEN}x`);
    expect(wrong.status).toBe(401);
    const sameLengthWrong = await postEvent(run.url, event('AUTH-1'), INGEST_TOKEN.replace(/.$/, '!'));
    expect(sameLengthWrong.status).toBe(401);
    const order = await fetch(`${run.url}/v1/orders/AUTH-1`);
    expect(order.status).toBe(401);
    const queue = new Queue(QUEUES.orders, { connection: { url: redis.url }, prefix: run.config.queuePrefix });
    expect(await queue.count()).toBe(0);
    await queue.close();
  });

  it('answers 400 with a JSON list naming every bad field', async () => {
    const res = await postEvent(run.url, { ...event('BAD-1'), orderId: '', currency: 'thb', items: [] });
    expect(res.status).toBe(400);
    const body = await res.json() as { errors: Array<{ field: string; message: string }> };
    const fields = body.errors.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['orderId', 'currency', 'items']));
    expect(body.errors.every((e) => typeof e.message === 'string' && e.message.length > 0)).toBe(true);
  });

  it('answers 400 in the same shape for a body that is not JSON', async () => {
    const res = await postEvent(run.url, '{"orderId": ');
    expect(res.status).toBe(400);
    const body = await res.json() as { errors: Array<{ field: string }> };
    expect(body.errors[0]?.field).toBe('(body)');
  });

  it('accepts an event with 202 and is idempotent per order id (one job in Redis)', async () => {
    const first = await postEvent(run.url, event('IDEM-1'));
    expect(first.status).toBe(202);
    const a = await first.json() as { jobId: string; duplicate: boolean };
    expect(a.duplicate).toBe(false);
    const second = await postEvent(run.url, event('IDEM-1', { total: 999 }));
    expect(second.status).toBe(202);
    const b = await second.json() as { jobId: string; duplicate: boolean };
    expect(b).toEqual({ jobId: a.jobId, duplicate: true });

    const queue = new Queue(QUEUES.orders, { connection: { url: redis.url }, prefix: run.config.queuePrefix });
    const jobs = await queue.getJobs(['waiting', 'delayed', 'active']);
    expect(jobs.filter((j) => (j.data as { orderId: string }).orderId === 'IDEM-1').map((j) => j.id)).toEqual([a.jobId]);
    await queue.close();
  });

  it('refuses a body over INGEST_BODY_LIMIT with 413', async () => {
    const res = await postEvent(run.url, event('BIG-1', { note: 'x'.repeat(5_000) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: string }).error).toContain('INGEST_BODY_LIMIT');
  });

  it('serves the per-order record (200) and 404 for an unknown order', async () => {
    const records = new OrderRecords(redis.client(), run.config.queuePrefix, 60_000);
    await records.markReceived('ORD/7');
    await records.update('ORD/7', 'wa.ORD%2F7', { vendor: 'twin24', ruleId: 'wa', status: 'correlated', chatId: 'chat-9', result: { rating: 5 } });
    const ok = await fetch(`${run.url}/v1/orders/${encodeURIComponent('ORD/7')}`, { headers: { authorization: `Bearer ${ORDERS_READ_TOKEN}` } });
    expect(ok.status).toBe(200);
    const order = await ok.json() as { orderId: string; deliveries: Array<{ vendor: string; status: string; chatId: string; result: unknown }> };
    expect(order.orderId).toBe('ORD/7');
    expect(order.deliveries).toEqual([expect.objectContaining({ vendor: 'twin24', status: 'correlated', chatId: 'chat-9', result: { rating: 5 } })]);

    const missing = await fetch(`${run.url}/v1/orders/NOPE-1`, { headers: { authorization: `Bearer ${ORDERS_READ_TOKEN}` } });
    expect(missing.status).toBe(404);
  });

  it('answers /healthz and /readyz, counts ingested events, and has no /metrics on the API port', async () => {
    expect((await fetch(`${run.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${run.url}/readyz`);
    expect(ready.status).toBe(200);
    expect((await fetch(`${run.url}/metrics`)).status).toBe(404); // served on METRICS_PORT (test/ops/process.test.ts)
    const text = await run.api.metrics.scrape();
    expect(text).toMatch(/^order_notify_events_enqueued_total\{source="http",duplicate="false"\} [1-9]/m);
    expect(text).toMatch(/^order_notify_events_enqueued_total\{source="http",duplicate="true"\} 1$/m);
    expect(text).toMatch(/^order_notify_ingest_requests_total\{outcome="unauthorized"\} 3$/m);
    expect(text).toMatch(/^order_notify_ingest_requests_total\{outcome="too_large"\} 1$/m);
    expect(text).toMatch(/^order_notify_queue_jobs\{queue="orders",state="waiting"\} [1-9]/m);
    expect(text).toMatch(/^order_notify_redis_up 1$/m);
  });
});

describe('HTTP API start-up rules', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis?.stop(); });
  const logger = createLogger({ level: 'silent' });

  it('refuses to start without INGEST_TOKEN or dashboard credentials (exit code 2, naming the variables)', async () => {
    const err = await createApiServer({ config: testConfig(redis.url), logger }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as StartupError).exitCode).toBe(2);
    expect((err as Error).message).toContain('INGEST_TOKEN');
    expect((err as Error).message).toContain('DASHBOARD_USER');
  });

  it('starts without dashboard credentials when the dashboard is disabled (and /admin/queues is gone)', async () => {
    const api = await createApiServer({ config: testConfig(redis.url, { INGEST_TOKEN, DASHBOARD_ENABLED: 'false' }), logger });
    const { url } = await api.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(`${url}/admin/queues`)).status).toBe(404);
    await api.close();
  });

  it('generates credentials only when asked (out-of-the-box mode), and they work', async () => {
    const api = await createApiServer({ config: testConfig(redis.url), logger, generateMissingCredentials: true });
    const { url } = await api.listen({ port: 0, host: '127.0.0.1' });
    expect(api.credentials.generated).toEqual(['ingestToken', 'ordersReadToken', 'dashboard']);
    expect(api.credentials.ingestToken.length).toBeGreaterThanOrEqual(32);
    expect((await postEvent(url, event('GEN-1'), api.credentials.ingestToken)).status).toBe(202);
    const d = api.credentials.dashboard!;
    const board = await fetch(`${url}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from(`${d.user}:${d.password}`).toString('base64')}` } });
    expect(board.status).toBe(200);
    await api.close();
  });
});

describe('HTTP API with Redis gone', () => {
  it('answers 503 fast instead of hanging, and /readyz turns 503', async () => {
    const redis = await startRedis();
    const run = await startApi(redis.url);
    try {
      expect((await postEvent(run.url, event('DOWN-0'))).status).toBe(202);
      await redis.stop();
      // A hang would trip the 10 s abort in postEvent; the producer's own deadline is 3 s.
      const res = await postEvent(run.url, event('DOWN-1'));
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      const order = await fetch(`${run.url}/v1/orders/DOWN-0`, { headers: { authorization: `Bearer ${ORDERS_READ_TOKEN}` }, signal: AbortSignal.timeout(10_000) });
      expect(order.status).toBe(503);
      const ready = await fetch(`${run.url}/readyz`, { signal: AbortSignal.timeout(10_000) });
      expect(ready.status).toBe(503);
      const metrics = await run.api.metrics.scrape();
      expect(metrics).toMatch(/^order_notify_redis_up 0$/m);
      expect(metrics).toMatch(/^order_notify_ingest_requests_total\{outcome="unavailable"\} 1$/m);
    } finally {
      await run.close();
    }
  });
});
