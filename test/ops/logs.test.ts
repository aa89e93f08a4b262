import { Writable } from 'node:stream';
import { AxiosError, AxiosHeaders, type InternalAxiosRequestConfig } from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretValues } from '../../src/config/secrets.js';
import { classifyHttpFailure } from '../../src/http-client/classify.js';
import { createVendorDeliveryWorker, type DeliveryWorker } from '../../src/app/delivery-worker.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { createLogger } from '../../src/runtime/logger.js';
import { Redactor } from '../../src/runtime/redact.js';
import { testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { fakeAdapter, mantagoJob } from './fixtures/fake-adapter.js';

const SECRETS = {
  MANTAGO_BOT_ID: 'bot-7', MANTAGO_TOKEN: 'mt-token-9f8e7d6c5b', MANTAGO_SECRET: 'mt-secret-1a2b3c4d5e',
  JOINCHAT_PAGE_ID: 'page-1', JOINCHAT_SECRET: 'jc-secret-aa11bb22cc',
  METABOT_BOT_ID: '42', METABOT_TOKEN: 'mb-token-0099887766',
  TWIN24_EMAIL: 'ops@shop.example', TWIN24_PASSWORD: 'tw-pass-5566778899', TWIN24_BOT_ID: 'b1', TWIN24_CHAT_ID: 'c1',
  INGEST_TOKEN: 'ingest-tok-77665544-33221100', DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'dash-pw-33221100',
  RESULTS_WEBHOOK_URL: 'https://shop.example/hooks/notify', RESULTS_WEBHOOK_SECRET: 'wh-secret-4455667788-99001122',
};
const PHONE = '+66 81 234 5678';
const EMAIL = 'somchai@example.com';

/** An error as axios throws it: the request config carries the credentials and the body. */
function axiosFailure(token: string, secret: string): AxiosError {
  const config = {
    url: 'https://mantago.cc/api/broadcast', method: 'post',
    headers: new AxiosHeaders({ Authorization: `Bearer ${token}`, 'content-type': 'application/json' }),
    data: JSON.stringify({ secret, clientIds: ['U1'], phone: PHONE }),
  } as InternalAxiosRequestConfig;
  return new AxiosError('Request failed with status code 401', 'ERR_BAD_REQUEST', config, {}, {
    status: 401, statusText: 'Unauthorized', headers: {}, config, data: { error: `secret ${secret} does not match for ${EMAIL}` },
  });
}

describe('logs never carry secrets and mask contact data', () => {
  let redis: TestRedis;
  let connection: RedisConnection;
  let delivery: DeliveryWorker;
  const lines: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    const config = testConfig(redis.url, { ...SECRETS, LOG_LEVEL: 'info' });
    const logger = createLogger({
      level: 'info', redactor: new Redactor(secretValues(config)),
      destination: new Writable({ write(chunk, _e, cb) { lines.push(...String(chunk).split('\n').filter(Boolean)); cb(); } }),
    });
    connection = createRedis(config.redis, 'worker');
    const records = new OrderRecords(connection, config.queuePrefix, 60_000);
    const vendorLog = logger.child({ vendor: 'mantago', component: 'adapter' });
    let calls = 0;
    // A careless adapter: logs the raw axios error and the request, and quotes the vendor's answer in its error.
    const adapter = fakeAdapter((d) => {
      calls += 1;
      const err = axiosFailure(SECRETS.MANTAGO_TOKEN, SECRETS.MANTAGO_SECRET);
      if (d.orderId === 'L-PERM') {
        vendorLog.warn({ err, request: { headers: err.config!.headers, body: err.config!.data }, customer: { phone: PHONE, email: EMAIL } }, `call failed for ${PHONE} / ${EMAIL}`);
        return { ok: false, error: classifyHttpFailure(err, 'mantago', `rejected: ${JSON.stringify(err.response!.data)} token=${SECRETS.MANTAGO_TOKEN}`) };
      }
      if (d.orderId === 'L-RETRY' && calls < 4) throw err; // not a VendorError: the worker wraps its message
      return { ok: true, vendorMessageId: 'mid-1' };
    });
    delivery = createVendorDeliveryWorker({ vendor: 'mantago', config, connection, records, metrics: new Metrics({ defaultMetrics: false }), logger, adapter });
    for (const orderId of ['L-PERM', 'L-RETRY']) {
      const job = mantagoJob(orderId);
      await delivery.queue.add('delivery', job, { jobId: job.deliveryId });
    }
    await waitFor(async () => {
      const c = await delivery.queue.getJobCounts('completed', 'failed');
      return c.completed === 1 && c.failed === 1;
    }, 'one failed and one delivered job');
    // The other ways into pino: a bare error, a child binding, a message with a bearer header, printf arguments.
    logger.error(axiosFailure(SECRETS.TWIN24_PASSWORD, SECRETS.RESULTS_WEBHOOK_SECRET));
    logger.child({ token: SECRETS.METABOT_TOKEN, note: `pw ${SECRETS.DASHBOARD_PASSWORD}` }).info('child bindings');
    logger.info(`Authorization: Bearer ${SECRETS.INGEST_TOKEN}`);
    logger.info('joinchat said %s and %o', `bad signature for ${SECRETS.JOINCHAT_SECRET}`, { password: SECRETS.TWIN24_PASSWORD });
    logger.flush();
  });
  afterAll(async () => {
    await delivery?.close(5_000);
    connection?.disconnect();
    await redis?.stop();
  });

  it('writes one JSON object per line', () => {
    expect(lines.length).toBeGreaterThan(5); 
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('contains none of the configured secret values', () => {
    const all = lines.join('\n');
    const secrets = secretValues(testConfig(redis.url, SECRETS));
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    for (const secret of secrets) expect(all, `secret ${secret.slice(0, 4)}… leaked`).not.toContain(secret);
    expect(all).toContain('[REDACTED]');
  });

  it('masks phone numbers and e-mails', () => {
    const all = lines.join('\n');
    expect(all).not.toContain(PHONE);
    expect(all).not.toContain('66812345678');
    expect(all).not.toContain(EMAIL);
    expect(all).toContain('668*****678');
    expect(all).toContain('s***@example.com');
  });

  it('logs one line per job outcome with order id, vendor, rule, attempt and duration', () => {
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const outcome = (msg: string, orderId: string) => parsed.filter((p) => p.msg === msg && p.orderId === orderId);
    const shape = { vendor: 'mantago', rule: 'line-thanks', attempt: expect.any(Number), durationMs: expect.any(Number) };
    expect(outcome('delivery failed', 'L-PERM')).toEqual([expect.objectContaining({ ...shape, attempt: 1, level: 'error' })]);
    expect(outcome('delivered', 'L-RETRY')).toEqual([expect.objectContaining({ ...shape, level: 'info' })]);
    expect(outcome('delivery attempt failed; will retry', 'L-RETRY').length).toBeGreaterThanOrEqual(1);
  });
});
