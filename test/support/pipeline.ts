import pino from 'pino';
import type { AppConfig } from '../../src/config/env.js';
import { loadRoutesFile, type Route } from '../../src/fanout/routes.js';
import { createFanoutWorker } from '../../src/fanout/worker.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createProducer } from '../../src/producer/producer.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { QUEUES } from '../../src/queues/names.js';

/** The front half of the system for a test: producer + fan-out worker on a private Redis and prefix. */
export function startFrontHalf(config: AppConfig, routes: Route[] = loadRoutesFile('config/routes.example.yaml')) {
  const connection: RedisConnection = createRedis(config.redis, 'worker');
  const metrics = new Metrics({ defaultMetrics: false });
  const logger = pino({ level: 'silent' });
  const records = new OrderRecords(connection, config.queuePrefix, config.orderRetentionMs);
  // The producer's prefix is the orders queue's (REDIS_KEY_LAYOUT): where the fan-out worker reads.
  const producer = createProducer({ redisUrl: config.redis.url, prefix: config.queuePrefix, keyLayout: config.keyLayout });
  const fanout = createFanoutWorker({ config, routes, connection, records, metrics, logger });
  return {
    connection, metrics, logger, records, producer, fanout,
    async close() {
      await fanout.close(5_000);
      await producer.close();
      connection.disconnect();
    },
  };
}
