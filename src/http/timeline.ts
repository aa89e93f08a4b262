import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { HistoryEntry } from '../orders/history.js';
import { keyspace, type Keyspace } from '../queues/keyspace.js';
import { OrderRecords, type OrderRecord } from '../orders/record.js';
import type { RedisConnection } from '../queues/connection.js';
import type { Redactor } from '../runtime/redact.js';
import { requireBasic, type AuthFailureLimiter, type BasicUser } from './auth.js';
import { renderTimeline } from './timeline-html.js';
import { VendorHealthReader } from './vendor-health.js';

export const TIMELINE_PATH = '/admin/orders';

export interface TimelineOptions {
  connection: RedisConnection;
  /** Order records and history (where the order's own keys live). */
  prefix: string;
  /** Where records, queues and the vendors' keys live (default: everything under `prefix`, the single layout). */
  keys?: Keyspace;
  partitions?: Readonly<Record<string, number>>;
  orderRetentionMs: number;
  /** The dashboard's logins: the page only reads, so whoever may look at the board may look here. */
  users: ReadonlyArray<BasicUser>;
  limiter?: AuthFailureLimiter;
  redactor: Redactor;
}

const query = z.object({ order: z.string().trim().max(200, 'order: at most 200 characters').optional() });

/** Only reads; a browser gets no script to run, and nothing is cached or framed elsewhere. */
const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * GET /admin/orders?order=<id>: one order's deliveries with their status history, and the vendor health strip.
 * Personal data is masked as on the dashboard (the Redactor: phones, e-mails, secrets), bot results included.
 */
export async function registerTimeline(app: FastifyInstance, opts: TimelineOptions): Promise<{ close(): Promise<void> }> {
  const records = new OrderRecords(opts.connection, opts.keys ?? opts.prefix, opts.orderRetentionMs, [], { partitions: opts.partitions });
  const health = new VendorHealthReader(opts.connection, opts.keys ?? keyspace(opts.prefix), opts.partitions);

  await app.register(async (scope) => {
    scope.addHook('onRequest', requireBasic(opts.users, { limiter: opts.limiter }));
    scope.get(TIMELINE_PATH, async (req, reply) => {
      const parsed = query.safeParse(req.query);
      const orderId = parsed.success ? parsed.data.order || undefined : undefined;
      let order: OrderRecord | undefined;
      let history: HistoryEntry[] = [];
      if (orderId) [order, history] = await Promise.all([records.get(orderId), records.history(orderId)]);
      const notice = !parsed.success ? parsed.error.issues.map((i) => i.message).join('; ')
        : orderId && !order ? `Order ${orderId} is unknown (never received, or older than ORDER_RETENTION).` : undefined;
      const html = renderTimeline({
        query: parsed.success ? orderId : undefined,
        order: order && (opts.redactor.value(order) as OrderRecord),
        history: opts.redactor.value(history) as HistoryEntry[],
        health: await health.read(),
        notice,
      });
      return reply.code(orderId && !order ? 404 : parsed.success ? 200 : 400).headers(HEADERS).send(html);
    });
  });
  return { close: () => health.close() };
}
