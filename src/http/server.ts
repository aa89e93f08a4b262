import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../config/env.js';
import { secretValues } from '../config/secrets.js';
import { InvalidEventError } from '../events/order-paid.js';
import { Metrics } from '../observability/metrics.js';
import { QueueDepthGauges } from '../observability/queue-depth.js';
import { checkReady, redisReady } from '../observability/readiness.js';
import { createProducer, RedisUnavailableError } from '../producer/producer.js';
import { createRedis, type RedisConnection } from '../queues/connection.js';
import { allQueueNames } from '../queues/names.js';
import { VENDORS } from '../vendors/registry.js';
import type { Logger } from '../runtime/logger.js';
import { Redactor } from '../runtime/redact.js';
import { NO_TRACING, type Tracing } from '../observability/tracing.js';
import type { AuthFailureLimiter } from './auth.js';
import { bearerTokens, dashboardUsers, resolveApiCredentials, type ApiCredentials } from './credentials.js';
import { DASHBOARD_PATH, registerDashboard } from './dashboard.js';
import { registerApiRoutes } from './routes.js';
import { registerTimeline } from './timeline.js';

export const INGEST_PATH = '/v1/events/order-paid';

export interface ApiServerOptions {
  config: AppConfig;
  logger: Logger;
  metrics?: Metrics;
  redactor?: Redactor;
  /** A producer-role connection (fails fast while Redis is away). Made from config.redis when omitted, and then closed with the server. */
  connection?: RedisConnection;
  /**
   * Out-of-the-box (sandbox) mode only: generate a missing INGEST_TOKEN and dashboard credentials instead of
   * refusing to start. They are returned in `credentials` for the caller to print.
   */
  generateMissingCredentials?: boolean;
  /** Read queue depths at scrape time (default true; a combined process that already does it passes false). */
  queueGauges?: boolean;
  /** Further readiness checks (a combined process adds its workers' connection). */
  ready?: () => Promise<void>;
  /** The process's tracing (docs/tracing.md); off by default. */
  tracing?: Tracing;
}

export interface ApiServer {
  app: FastifyInstance;
  credentials: ApiCredentials;
  metrics: Metrics;
  listen(opts?: { port?: number; host?: string }): Promise<{ url: string; port: number }>;
  /** Graceful: /readyz turns 503, new requests get 503, in-flight ones finish, then Redis closes. */
  close(): Promise<void>;
}

/**
 * The one HTTP service: ingest, per-order status, Bull Board, /metrics, /healthz, /readyz. Refuses to build
 * (StartupError, exit code 2) when it would be open: see resolveApiCredentials.
 */
export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { config } = opts;
  const credentials = resolveApiCredentials(config.http, { generate: opts.generateMissingCredentials });
  const redactor = opts.redactor ?? new Redactor(secretValues(config));
  redactor.remember(credentials.ingestToken);
  redactor.remember(credentials.dashboard?.password);
  redactor.remember(credentials.dashboardOperator?.password);
  redactor.remember(credentials.ordersReadToken);
  const logger = opts.logger.child({ component: 'api' });
  const metrics = opts.metrics ?? new Metrics();
  const ownsConnection = !opts.connection;
  const connection = opts.connection ?? createRedis(config.redis, 'producer');
  if (ownsConnection) connection.on('error', () => {}); // surfaces as 503 and in /readyz
  const producer = createProducer({
    connection, prefix: config.queuePrefix, keyLayout: config.keyLayout, idempotencyWindowMs: config.idempotencyWindowMs,
    keepCompletedMs: config.jobs.keepCompletedMs, keepFailedMs: config.jobs.keepFailedMs, orderRetentionMs: config.orderRetentionMs,
    tracing: opts.tracing ?? NO_TRACING,
  });
  const gauges = opts.queueGauges === false ? undefined : new QueueDepthGauges(metrics, connection, config.keys, allQueueNames(VENDORS, config.partitions));
  let stopping = false;

  // maxParamLength: an order id may be 200 characters, each up to 12 once percent-encoded (GET /v1/orders/{id}).
  const app = Fastify({ logger: false, bodyLimit: config.http.bodyLimit, requestTimeout: 30_000, routerOptions: { maxParamLength: 2_400 },
    trustProxy: trustProxyOption(config.http.trustProxy) });
  // Security headers on every answer; the dashboard's page loads only its own scripts and styles and may not be
  // framed (a framed "retry all" could be clickjacked). Bull Board's UI needs inline styles and data: images.
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'], connectSrc: ["'self'"], objectSrc: ["'none'"], baseUri: ["'self'"],
        formAction: ["'self'"], frameAncestors: ["'none'"],
      },
    },
    // The API is also called from other origins' servers (the monolith), never from their pages.
    crossOriginResourcePolicy: { policy: 'same-origin' },
    frameguard: { action: 'deny' },
  });
  // Failed authentications per client (IP): global: false, so nothing else is limited; see AuthFailureLimiter.
  await app.register(rateLimit, { global: false });
  const limiterCheck = app.createRateLimit({ max: config.http.authFailureLimit.max, timeWindow: config.http.authFailureLimit.durationMs });
  const limiter: AuthFailureLimiter = { check: (req, o) => limiterCheck(req, o) as ReturnType<AuthFailureLimiter['check']> };
  // JSON bodies must be valid UTF-8: the default parser would turn bad bytes into U+FFFD and accept the event.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(Object.assign(new Error('the body is not valid UTF-8'), { statusCode: 400 }), undefined);
      return;
    }
    parseJson(req, text, done);
  });
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const ingest = req.routeOptions.url === INGEST_PATH;
    if (err instanceof InvalidEventError) {
      if (ingest) metrics.ingestRequests.inc({ outcome: 'invalid' });
      return reply.code(400).send({ error: 'invalid order.paid event', errors: err.fieldErrors });
    }
    if (err instanceof RedisUnavailableError) {
      if (ingest) metrics.ingestRequests.inc({ outcome: 'unavailable' });
      logger.warn({ path: req.url, reason: err.message }, 'request refused: Redis unavailable');
      return reply.code(503).header('retry-after', '5').send({ error: 'Redis is unavailable; retry later' });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      if (ingest) metrics.ingestRequests.inc({ outcome: 'too_large' });
      return reply.code(413).send({ error: `body larger than INGEST_BODY_LIMIT (${config.http.bodyLimit} bytes)` });
    }
    const status = err.statusCode ?? 500;
    if (status < 500) {
      if (ingest && status === 400) metrics.ingestRequests.inc({ outcome: 'invalid' });
      // Unreadable JSON and the like: the same shape as a validation failure, so clients parse one format.
      return reply.code(status).send(status === 400 ? { error: err.message, errors: [{ field: '(body)', message: err.message }] } : { error: err.message });
    }
    logger.error({ err, path: req.url }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));

  registerApiRoutes(app, { producer, metrics, tokens: bearerTokens(credentials), limiter, redactor, tracing: opts.tracing });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await checkReady(async () => {
        if (stopping) throw new Error('shutting down');
        await redisReady(connection);
        await opts.ready?.();
      });
      return { status: 'ready', config: 'valid', redis: 'reachable' };
    } catch (e) {
      return reply.code(503).send({ status: 'not ready', reason: e instanceof Error ? e.message : String(e) });
    }
  });
  // No /metrics here: it is served on METRICS_PORT (see app/worker-process.ts), never on the public API port.

  const dashboard = credentials.dashboard
    ? await registerDashboard(app, { connection, keys: config.keys, partitions: config.partitions, users: dashboardUsers(credentials), redactor, logger, limiter })
    : undefined;
  // The order timeline page (docs/timeline.md) sits behind the same login as the board.
  const timeline = credentials.dashboard
    ? await registerTimeline(app, { connection, prefix: config.queuePrefix, keys: config.keys, partitions: config.partitions, orderRetentionMs: config.orderRetentionMs, users: dashboardUsers(credentials), limiter, redactor })
    : undefined;
  await app.ready();

  let closed: Promise<void> | undefined;
  return {
    app,
    credentials,
    metrics,
    async listen(l = {}) {
      await app.listen({ port: l.port ?? config.http.port, host: l.host ?? '0.0.0.0' });
      const address = app.server.address() as AddressInfo;
      const host = address.address === '0.0.0.0' || address.address === '::' ? '127.0.0.1' : address.address;
      logger.info({ port: address.port, dashboard: dashboard ? DASHBOARD_PATH : false }, 'HTTP API listening');
      return { url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`, port: address.port };
    },
    close() {
      closed ??= (async () => {
        stopping = true;
        await app.close();
        await dashboard?.close();
        await timeline?.close();
        await gauges?.close();
        await producer.close();
        if (ownsConnection) await connection.quit().catch(() => connection.disconnect());
      })();
      return closed;
    },
  };
}

/** A hop count n trusts the n proxies nearest to us (proxy-addr's hop index starts at 0 for the socket peer). */
function trustProxyOption(v: number | string[] | undefined): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (v === undefined) return false;
  return typeof v === 'number' ? (_address: string, hop: number) => hop < v : v;
}
