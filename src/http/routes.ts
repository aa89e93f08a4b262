import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import type { OrderNotifyProducer } from '../producer/producer.js';
import { NO_TRACING, type Tracing } from '../observability/tracing.js';
import type { Redactor } from '../runtime/redact.js';
import { requireBearer, type AuthFailureLimiter, type ScopedToken } from './auth.js';
import { SCOPES } from './credentials.js';

export interface ApiRouteDeps {
  producer: OrderNotifyProducer;
  metrics: Metrics;
  tokens: readonly ScopedToken[];
  limiter?: AuthFailureLimiter;
  redactor: Redactor;
  tracing?: Tracing;
}

/**
 * The monolith's HTTP door: the same validation, idempotency and fast Redis failure as the Node producer (it is
 * the producer underneath). Errors are shaped by the server's error handler (400 field list, 413, 503).
 */
export function registerApiRoutes(app: FastifyInstance, deps: ApiRouteDeps): void {
  const { producer, metrics, limiter } = deps;
  const ingestAuth = requireBearer(deps.tokens, SCOPES.ingest, {
    limiter, hint: 'INGEST_TOKEN', onRejected: () => metrics.ingestRequests.inc({ outcome: 'unauthorized' }),
  });

  const tracing = deps.tracing ?? NO_TRACING;
  app.post('/v1/events/order-paid', { onRequest: ingestAuth }, async (req, reply) => tracing.span('POST /v1/events/order-paid', {
    kind: 'server', parent: traceCarrier(req.headers), attributes: { 'http.request.method': 'POST', 'http.route': '/v1/events/order-paid' },
  }, async (span) => {
    const result = await producer.orderPaid(req.body);
    metrics.eventsEnqueued.inc({ source: 'http', duplicate: String(result.duplicate) });
    metrics.ingestRequests.inc({ outcome: result.duplicate ? 'duplicate' : 'accepted' });
    span.setAttributes({ 'http.response.status_code': 202 });
    return reply.code(202).send(result);
  }));

  // The per-order record holds customer data and bot answers: only the read scope (ORDERS_READ_TOKEN), never the
  // ingest token; it goes out through the same Redactor as logs and the dashboard (the CLI `order` too).
  const readAuth = requireBearer(deps.tokens, SCOPES.readOrders, { limiter, hint: 'ORDERS_READ_TOKEN' });
  app.get<{ Params: { orderId: string } }>('/v1/orders/:orderId', { onRequest: readAuth }, async (req, reply) => {
    const order = await producer.getOrder(req.params.orderId);
    if (!order) return reply.code(404).send({ error: `order ${req.params.orderId} is unknown (never received, or older than ORDER_RETENTION)` });
    return deps.redactor.value(order);
  });
}

/** A caller's W3C trace context (traceparent/tracestate headers), so the order's trace continues the monolith's. */
function traceCarrier(headers: Record<string, string | string[] | undefined>): string | undefined {
  const parent = headers.traceparent;
  if (typeof parent !== 'string') return undefined;
  const state = headers.tracestate;
  return JSON.stringify(typeof state === 'string' ? { traceparent: parent, tracestate: state } : { traceparent: parent });
}
