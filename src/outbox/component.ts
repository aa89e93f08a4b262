import type { AppConfig, OutboxConfig } from '../config/env.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import { redisReady } from '../observability/readiness.js';
import { OrderNotifyProducer } from '../producer/producer.js';
import { createRedis, waitReady } from '../queues/connection.js';
import type { Logger } from '../runtime/logger.js';
import { OutboxMetrics } from './metrics.js';
import { OutboxRelay } from './relay.js';
import { openOutboxStore } from './store.js';

export interface RunningRelay {
  relay: OutboxRelay;
  ready(): Promise<void>;
  close(timeoutMs: number): Promise<void>;
}

/**
 * The `outbox-relay` component: its own fail-fast producer connection (a worker connection would queue commands
 * while Redis is away, and the relay must see the outage to stop claiming), the store, metrics and the loop.
 */
export async function startOutboxRelay(deps: { config: AppConfig & { outbox: OutboxConfig }; metrics: Metrics; logger: Logger; tracing?: Tracing }): Promise<RunningRelay> {
  const { config, logger } = deps;
  const settings = config.outbox;
  const log = logger.child({ component: 'outbox-relay' });
  const store = await openOutboxStore({
    url: settings.databaseUrl, table: settings.table, afterEnqueue: settings.afterEnqueue,
    onError: (err) => log.warn({ err: err.message }, 'outbox database connection error'),
  });
  const connection = createRedis(config.redis, 'producer');
  const producer = new OrderNotifyProducer({
    connection, prefix: config.queuePrefix, keyLayout: config.keyLayout, idempotencyWindowMs: config.idempotencyWindowMs,
    keepCompletedMs: config.jobs.keepCompletedMs, keepFailedMs: config.jobs.keepFailedMs, orderRetentionMs: config.orderRetentionMs,
    tracing: deps.tracing, // each relayed order starts its trace here, as an ingested one does in the API
  });
  const relay = new OutboxRelay({
    settings, store, producer, logger: log,
    metrics: new OutboxMetrics(deps.metrics, store),
    redisUp: () => connection.status === 'ready',
    redisReady: () => redisReady(connection),
    onEnqueued: (duplicate) => deps.metrics.eventsEnqueued.inc({ source: 'outbox', duplicate: String(duplicate) }),
  });
  // The process already waited for Redis on its worker connection; this one follows within moments.
  await waitReady(connection, 10_000).catch(() => undefined);
  if (settings.listenChannel) await store.listen(settings.listenChannel, () => relay.wake());
  relay.start();
  log.info({ dialect: store.dialect, table: settings.table, pollEveryMs: settings.pollEveryMs, batchSize: settings.batchSize, afterEnqueue: settings.afterEnqueue, listen: settings.listenChannel }, 'outbox relay started');
  return {
    relay,
    ready: () => relay.ready(),
    async close(timeoutMs) {
      await relay.close(timeoutMs);
      await store.close();
      await producer.close();
      connection.disconnect();
    },
  };
}
