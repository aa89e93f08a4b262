import { execFile } from 'node:child_process';
import * as nodeModule from 'node:module';
import { promisify } from 'node:util';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { startTracing, tracingRequested, type Tracing } from '../../src/observability/tracing.js';
import { createProducer } from '../../src/producer/producer.js';
import { Redactor } from '../../src/runtime/redact.js';
import { startRedis, type TestRedis } from '../support/redis.js';

const run = promisify(execFile);

describe('tracing switch', () => {
  it('is on only when the standard variables ask for traces', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' })).toBe(false);
  });
});

describe('tracing in the producer', () => {
  let redis: TestRedis;
  let tracing: Tracing;
  const exporter = new InMemorySpanExporter();
  beforeAll(async () => {
    redis = await startRedis();
    tracing = await startTracing({ env: {}, serviceName: 'test', exporter, scrub: (t) => new Redactor().text(t) });
  });
  afterAll(async () => {
    await tracing?.shutdown();
    await redis?.stop();
  });

  it('loads no OpenTelemetry module when off, and only the API (never the SDK) when a monolith turns it on', async (ctx) => {
    if (!('registerHooks' in nodeModule)) ctx.skip(`module.registerHooks needs Node >= 22.15 (this is ${process.version})`);
    const load = async (extra: Record<string, string>) => {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/tracing/fixtures/load-producer.ts'], {
        env: { PATH: process.env.PATH, REDIS_URL: redis.url, QUEUE_PREFIX: `ld${Math.random().toString(36).slice(2, 7)}`, ...extra },
      });
      return JSON.parse(stdout.trim().split('\n').pop()!) as { result: { duplicate: boolean }; packages: string[]; sources: string[] };
    };
    const off = await load({});
    expect(off.result.duplicate).toBe(false);
    expect(off.packages).toContain('bullmq');
    expect(off.packages.filter((p) => /opentelemetry|otel|fastify/.test(p))).toEqual([]);
    // The layer rule a monolith relies on: src/index.ts reaches no vendor, no HTTP client, no server, no assembly.
    expect(off.packages.filter((p) => /^(axios|fastify|@fastify\/|@bull-board\/|pino)/.test(p))).toEqual([]);
    expect(off.sources.filter((s) => /^(vendors|delivery|fanout|correlation|http|app|sandbox|cli|quickstart)\//.test(s))).toEqual([]);
    expect(off.sources).toEqual(expect.arrayContaining(['index', 'producer/producer', 'queues/names']));
    const on = await load({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    expect(on.packages).toEqual(expect.arrayContaining(['@opentelemetry/api', 'bullmq-otel']));
    expect(on.packages.filter((p) => /sdk-trace|exporter|resources|fastify/.test(p))).toEqual([]);
  }, 60_000);

  it('orderPaidBulk starts one trace per order and stores each order\'s context in its job', async () => {
    const prefix = `bk${Math.random().toString(36).slice(2, 7)}`;
    const producer = createProducer({ redisUrl: redis.url, prefix, tracing });
    exporter.reset();
    const ids = ['BULK-1', 'BULK-2', 'BULK-3'];
    const results = await producer.orderPaidBulk(ids.map((orderId) => ({ ...SAMPLE_ORDER_PAID, orderId })));
    await producer.close();
    const spans = exporter.getFinishedSpans();
    const bulk = spans.find((s) => s.name === 'order.paid bulk')!;
    const orders = spans.filter((s) => s.name === 'order.paid');
    expect(orders.map((s) => s.attributes['order_notify.order_id']).sort()).toEqual(ids);
    const traces = new Set(orders.map((s) => s.spanContext().traceId));
    expect(traces.size).toBe(3);
    expect(traces.has(bulk.spanContext().traceId)).toBe(false);
    for (const s of orders) expect(s.links.map((l) => l.context.spanId)).toEqual([bulk.spanContext().spanId]);

    const queue = new Queue('orders', { connection: { url: redis.url }, prefix });
    for (const [i, r] of results.entries()) {
      const job = await queue.getJob(r.jobId);
      const order = orders.find((s) => s.attributes['order_notify.order_id'] === ids[i])!;
      expect(JSON.parse(job!.opts.telemetry!.metadata!).traceparent).toBe(`00-${order.spanContext().traceId}-${order.spanContext().spanId}-01`);
    }
    await queue.close();
  });

  it('scrubs failure texts like log lines (no phone numbers or credentials leave the process)', async () => {
    exporter.reset();
    await expect(tracing.span('deliver twin24', {}, async () => { throw new Error('refused +66 81 234 5678 with token=abcdef123456'); })).rejects.toThrow();
    const [span] = exporter.getFinishedSpans();
    expect(span!.status.message).not.toContain('234 5678');
    expect(span!.status.message).not.toContain('abcdef123456');
    expect(span!.status.message).toContain('668*****678');
  });
});
