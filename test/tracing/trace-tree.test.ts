/**
 * One order's trace across five real processes (API, fan-out, Twin24 and Metabot workers, Twin24 correlator), each
 * exporting over OTLP/HTTP to a receiver in this test: the span tree from ingest to each vendor call and to the
 * correlation update, stitched together only by the context carried in jobs and in the pending Twin24 message.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { sandboxEnv } from '../support/config.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

const INGEST_TOKEN = 'trace-test-ingest-token-0123456789';
const ORDER = 'TRACE-1';
const PHONE = '+66 81 234 5671';
// The monolith's own span: the order's trace continues it (W3C traceparent on the ingest request).
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const MONOLITH_SPAN = '00f067aa0ba902b7';

describe('one trace per order, across processes', () => {
  let redis: TestRedis;
  let sandbox: Sandbox;
  let receiver: OtlpReceiver;
  const children: ChildWorker[] = [];

  beforeAll(async () => {
    [redis, sandbox, receiver] = await Promise.all([startRedis(), startSandbox(), startOtlpReceiver()]);
  });
  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill('SIGTERM')));
    await sandbox?.close();
    await receiver?.close();
    await redis?.stop();
  });

  it('links ingest → fan-out → each delivery → its vendor call → the Twin24 correlation update', async () => {
    const env = {
      REDIS_URL: redis.url, QUEUE_PREFIX: `tr${Math.random().toString(36).slice(2, 7)}`, ...sandboxEnv(sandbox, ['twin24', 'metabot']),
      ROUTES_FILE: resolve('test/tracing/fixtures/routes.yaml'), INGEST_TOKEN, DASHBOARD_ENABLED: 'false',
      TWIN24_POLL_EVERY: '300ms', SHUTDOWN_TIMEOUT: '2s',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    children.push(...await Promise.all([
      startChildWorker('workers/api.ts', env, { portVariable: 'HTTP_PORT' }),
      startChildWorker('workers/fanout.ts', env),
      startChildWorker('workers/twin24.ts', env),
      startChildWorker('workers/metabot.ts', env),
      startChildWorker('workers/twin24-correlator.ts', env),
    ]));
    const api = children[0]!;

    const res = await fetch(`${api.url}/v1/events/order-paid`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}`, traceparent: `00-${TRACE_ID}-${MONOLITH_SPAN}-01` },
      body: JSON.stringify({ ...SAMPLE_ORDER_PAID, orderId: ORDER, customer: { ...SAMPLE_ORDER_PAID.customer, channels: { whatsappPhone: PHONE, metabotLeadId: 4242 } } }),
    });
    expect(res.status).toBe(202);

    const inTrace = () => receiver.spans.filter((s) => s.traceId === TRACE_ID);
    const one = (pred: (s: ReceivedSpan) => boolean) => inTrace().find(pred);
    await waitFor(() => one((s) => s.name === 'twin24 correlation update' && s.attributes['order_notify.status'] === 'correlated')
      && one((s) => s.name === 'metabot jobs/schedule'), 'the correlated update and the Metabot call in the order\'s trace', 30_000);
    // Parents end after their children: wait until every span's parent has arrived too.
    await waitFor(() => inTrace().every((s) => s.parentSpanId === MONOLITH_SPAN || inTrace().some((p) => p.spanId === s.parentSpanId)),
      'every parent span exported', 10_000);

    const byId = new Map(inTrace().map((s) => [s.spanId, s]));
    const path = (s: ReceivedSpan): string[] => {
      const out: string[] = [];
      for (let at: ReceivedSpan | undefined = s; at; at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined) out.unshift(`${at.service.replace('order-notify-', '')}: ${at.name}`);
      return out;
    };
    const front = ['api: POST /v1/events/order-paid', 'api: order.paid', 'fanout: process orders', 'fanout: fanout'];
    const twin24Call = one((s) => s.name === 'twin24 messages')!;
    expect(path(twin24Call)).toEqual([...front, 'fanout: add deliver-twin24.delivery', 'twin24: process deliver-twin24', 'twin24: deliver twin24', 'twin24: twin24 request', `twin24: ${twin24Call.name}`]);
    expect(twin24Call.attributes).toMatchObject({ 'order_notify.vendor': 'twin24', 'order_notify.vendor.endpoint': 'messages', 'http.response.status_code': 200 });
    // The sender logged in first (login mode): that call is in the same request span.
    expect(path(one((s) => s.name === 'twin24 auth/login')!).slice(-2)).toEqual(['twin24: twin24 request', 'twin24: twin24 auth/login']);
    const metabotCall = one((s) => s.name === 'metabot jobs/schedule')!;
    expect(path(metabotCall)).toEqual([...front, 'fanout: add deliver-metabot.delivery', 'metabot: process deliver-metabot', 'metabot: deliver metabot', 'metabot: metabot request', 'metabot: metabot jobs/schedule']);
    expect(metabotCall.attributes).toMatchObject({ 'order_notify.vendor': 'metabot', 'order_notify.vendor.endpoint': 'jobs/schedule', 'http.response.status_code': 200 });
    expect(metabotCall.kind).toBe(3); // SPAN_KIND_CLIENT
    const root = one((s) => s.name === 'POST /v1/events/order-paid')!;
    expect(root.parentSpanId).toBe(MONOLITH_SPAN);

    // The correlator learnt the outcome in its own tick job, yet its update hangs under the delivery it concerns.
    const correlated = one((s) => s.name === 'twin24 correlation update' && s.attributes['order_notify.status'] === 'correlated')!;
    expect(path(correlated)).toEqual([...front, 'fanout: add deliver-twin24.delivery', 'twin24: process deliver-twin24', 'twin24: deliver twin24', 'twin24-correlator: twin24 correlation update']);
    expect(correlated.links).toHaveLength(1); // the tick that learnt it (a trace of its own)
    expect(correlated.links[0]!.traceId).not.toBe(TRACE_ID);
    const delivery = one((s) => s.name === 'deliver twin24')!;
    expect(delivery.attributes).toMatchObject({ 'order_notify.order_id': ORDER, 'order_notify.outcome': 'sent', 'order_notify.rule': 'whatsapp-confirmation' });

    // Never exported: the phone number (in any format), the vendor credentials, the ingest token.
    const exported = receiver.bodies.join('\n');
    const c = sandbox.credentials;
    for (const secret of [INGEST_TOKEN, c.twin24.password, c.metabot.token, '66812345671', '81 234 5671', 'Somchai']) expect(exported).not.toContain(secret);
    const summary = [...new Set(inTrace().map((s) => s.service))].sort().join(', ');
    console.info(`[trace] ${inTrace().length} spans in the order's trace from ${summary}`);
  }, 90_000);
});
