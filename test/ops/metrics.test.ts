import { spawnSync } from 'node:child_process';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentVendorError, RetryableVendorError } from '../../src/delivery/errors.js';
import { createVendorDeliveryWorker, type DeliveryWorker } from '../../src/app/delivery-worker.js';
import { Metrics } from '../../src/observability/metrics.js';
import { startProbeServer, type ProbeServer } from '../../src/observability/probe-server.js';
import { QueueDepthGauges } from '../../src/observability/queue-depth.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { parseExposition, valueOf } from './fixtures/exposition.js';
import { fakeAdapter, mantagoJob } from './fixtures/fake-adapter.js';

describe('/metrics of a worker process', () => {
  let redis: TestRedis;
  let connection: RedisConnection;
  let delivery: DeliveryWorker;
  let gauges: QueueDepthGauges;
  let probes: ProbeServer;
  const metrics = new Metrics();
  const flakyCalls = new Map<string, number>();

  beforeAll(async () => {
    redis = await startRedis();
    const config = testConfig(redis.url);
    connection = createRedis(config.redis, 'worker');
    const records = new OrderRecords(connection, config.queuePrefix, 60_000);
    // Reports each call as a real adapter does through AdapterContext.metrics.
    const adapter = fakeAdapter((d) => {
      metrics.observeCall('mantago', '/broadcast', 200, 0.02);
      if (d.orderId === 'M-FAIL') return { ok: false, error: new PermanentVendorError('client not found', { vendor: 'mantago', code: 1002 }) };
      if (d.orderId === 'M-FLAKY' && !flakyCalls.has(d.orderId)) {
        flakyCalls.set(d.orderId, 1);
        throw new RetryableVendorError('HTTP 502', { vendor: 'mantago', status: 502, code: 502 });
      }
      return { ok: true, vendorMessageId: `m-${d.orderId}` };
    });
    delivery = createVendorDeliveryWorker({ vendor: 'mantago', config, connection, records, metrics, logger: pino({ level: 'silent' }), adapter });
    // Counts uncached here: this test watches them move from one scrape to the next.
    gauges = new QueueDepthGauges(metrics, connection, config.keys, undefined, 0);
    probes = await startProbeServer({ port: 0, host: '127.0.0.1', metrics, ready: async () => {} });
  });
  afterAll(async () => {
    await probes?.close();
    await delivery?.close(5_000);
    await gauges?.close();
    connection?.disconnect();
    await redis?.stop();
  });

  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${probes.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  it('parses as valid exposition and the delivery counters move after deliveries', async () => {
    const before = parseExposition(await scrape());
    expect(valueOf(before, 'order_notify_deliveries_total', { vendor: 'mantago', outcome: 'sent' })).toBeUndefined();
    expect(valueOf(before, 'order_notify_queue_jobs', { queue: 'deliver-mantago', state: 'completed' })).toBe(0);

    for (const orderId of ['M-1', 'M-2', 'M-FLAKY', 'M-FAIL']) {
      const job = mantagoJob(orderId);
      await delivery.queue.add('delivery', job, { jobId: job.deliveryId });
    }
    await waitFor(async () => {
      const c = await delivery.queue.getJobCounts('completed', 'failed');
      return c.completed === 3 && c.failed === 1;
    }, '3 completed and 1 failed delivery');

    const text = await scrape();
    const after = parseExposition(text);
    expect(valueOf(after, 'order_notify_deliveries_total', { vendor: 'mantago', outcome: 'sent' })).toBe(3);
    expect(valueOf(after, 'order_notify_deliveries_total', { vendor: 'mantago', outcome: 'failed' })).toBe(1);
    expect(valueOf(after, 'order_notify_delivery_retries_total', { vendor: 'mantago' })).toBe(1);
    expect(valueOf(after, 'order_notify_vendor_request_duration_seconds_count', { vendor: 'mantago', endpoint: '/broadcast', status: '200' })).toBe(5); // M-FLAKY twice
    expect(valueOf(after, 'order_notify_vendor_request_recipients_count', { vendor: 'mantago' })).toBe(5);
    expect(valueOf(after, 'order_notify_queue_jobs', { queue: 'deliver-mantago', state: 'completed' })).toBe(3);
    expect(valueOf(after, 'order_notify_queue_jobs', { queue: 'deliver-mantago', state: 'failed' })).toBe(1);
    expect(valueOf(after, 'order_notify_redis_up')).toBe(1);
    // Default process metrics under their standard names.
    expect(after.has('process_cpu_user_seconds_total')).toBe(true);
    expect(after.has('nodejs_eventloop_lag_seconds')).toBe(true);

    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    if (promtool.error) console.info('promtool not on PATH: exposition checked by the built-in parser only');
    else expect(promtool.status, promtool.stdout + promtool.stderr).toBe(0);
  });

  it('the checker itself rejects broken exposition', () => {
    expect(() => parseExposition('# TYPE a_total counter\n# HELP a_total x\na_total{vendor="m"} 1\na_total{vendor="m"} 2\n')).toThrow(/duplicate series/);
    expect(() => parseExposition('orphan 1\n')).toThrow(/without a TYPE/);
    expect(() => parseExposition('# HELP h x\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(/cumulative/);
  });
});
