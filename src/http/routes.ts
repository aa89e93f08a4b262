import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../observability/metrics.js';
import type { OrderNotifyProducer } from '../producer/producer.js';
import { requireBearer } from './auth.js';

export interface ApiRouteDeps {
  producer: OrderNotifyProducer;
  metrics: Metrics;
  ingestToken: string;
}

/**
 * The monolith's HTTP door: the same validation, idempotency and fast Redis failure as the Node producer (it is
 * the producer underneath). Errors are shaped by the server's error handler (400 field list, 413, 503).
 */
export function registerApiRoutes(app: FastifyInstance, deps: ApiRouteDeps): void {
  const { producer, metrics } = deps;
  const auth = requireBearer(deps.ingestToken, () => metrics.ingestRequests.inc({ outcome: 'unauthorized' }));

  app.post('/v1/events/order-paid', { onRequest: auth }, async (req, reply) => {
    const result = await producer.orderPaid(req.body);
    metrics.eventsEnqueued.inc({ source: 'http', duplicate: String(result.duplicate) });
    metrics.ingestRequests.inc({ outcome: result.duplicate ? 'duplicate' : 'accepted' });
    return reply.code(202).send(result);
  });

  // The per-order record holds customer data and bot answers: same token as ingest.
  app.get<{ Params: { orderId: string } }>('/v1/orders/:orderId', { onRequest: requireBearer(deps.ingestToken) }, async (req, reply) => {
    const order = await producer.getOrder(req.params.orderId);
    if (!order) return reply.code(404).send({ error: `order ${req.params.orderId} is unknown (never received, or older than ORDER_RETENTION)` });
    return order;
  });
}
