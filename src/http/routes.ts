import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import type { OrderNotifyProducer } from '../producer/producer.js';
import { NO_TRACING, type Tracing } from '../observability/tracing.js';
import { requireBearer } from './auth.js';

export interface ApiRouteDeps {
  producer: OrderNotifyProducer;
  metrics: Metrics;
  ingestToken: string;
  tracing?: Tracing;
}

/**
 * The monolith's HTTP door: the same validation, idempotency and fast Redis failure as the Node producer (it is
 * the producer underneath). Errors are shaped by the server's error handler (400 field list, 413, 503).
 */
export function registerApiRoutes(app: FastifyInstance, deps: ApiRouteDeps): void {
  const { producer, metrics } = deps;
  const auth = requireBearer(deps.ingestToken, () => metrics.ingestRequests.inc({ outcome: 'unauthorized' }));

  const tracing = deps.tracing ?? NO_TRACING;
  app.post('/v1/events/order-paid', { onRequest: auth }, async (req, reply) => tracing.span('POST /v1/events/order-paid', {
    kind: 'server', parent: traceCarrier(req.headers), attributes: { 'http.request.method': 'POST', 'http.route': '/v1/events/order-paid' },
  }, async (span) => {
    const result = await producer.orderPaid(req.body);
    metrics.eventsEnqueued.inc({ source: 'http', duplicate: String(result.duplicate) });
    metrics.ingestRequests.inc({ outcome: result.duplicate ? 'duplicate' : 'accepted' });
    span.setAttributes({ 'http.response.status_code': 202 });
    return reply.code(202).send(result);
  }));

  // The per-order record holds customer data and bot answers: same token as ingest.
  app.get<{ Params: { orderId: string } }>('/v1/orders/:orderId', { onRequest: requireBearer(deps.ingestToken) }, async (req, reply) => {
    const order = await producer.getOrder(req.params.orderId);
    if (!order) return reply.code(404).send({ error: `order ${req.params.orderId} is unknown (never received, or older than ORDER_RETENTION)` });
    return order;
  });
}

/** A caller's W3C trace context (traceparent/tracestate headers), so the order's trace continues the monolith's. */
function traceCarrier(headers: Record<string, string | string[] | undefined>): string | undefined {
  const parent = headers.traceparent;
  if (typeof parent !== 'string') return undefined;
  const state = headers.tracestate;
  return JSON.stringify(typeof state === 'string' ? { traceparent: parent, tracestate: state } : { traceparent: parent });
}
