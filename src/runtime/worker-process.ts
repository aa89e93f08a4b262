import { Queue } from 'bullmq';
import { ConfigError, loadConfig, type AppConfig } from '../config/env.js';
import { RoutesError } from '../config/routes.js';
import { secretValues } from '../config/secrets.js';
import { Metrics } from '../observability/metrics.js';
import { startProbeServer } from '../observability/probe-server.js';
import { createRedis, waitReady } from '../queues/connection.js';
import { allQueueNames } from '../queues/names.js';
import { startComponents } from './components.js';
import { createLogger, type Logger } from './logger.js';
import { Redactor } from './redact.js';
import { onShutdown } from './shutdown.js';

const JOB_STATES = ['waiting', 'delayed', 'active', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

/**
 * The body of every workers/<name>.ts entry: config → logger → Redis → components → probes → graceful shutdown.
 * A bad configuration stops the process with one message listing every problem.
 */
export async function runWorkerProcess(names: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const redactor = new Redactor(secretValues(config));
  const logger = createLogger({ level: config.logLevel, name: names.join('+'), redactor });
  for (const d of config.disabledVendors) logger.info({ vendor: d.vendor }, `${d.vendor} disabled: no credentials`);
  const connection = createRedis(config.redis, 'worker');
  connection.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const metrics = new Metrics();

  let components;
  try {
    await waitReady(connection, 30_000);
    components = await startComponents(names, { config, connection, metrics, logger });
  } catch (e) {
    if (e instanceof RoutesError) process.stderr.write(`${e.message}\n`);
    else logger.fatal({ err: e }, 'start-up failed');
    logger.flush?.();
    process.exit(e instanceof RoutesError ? 2 : 1);
  }
  const queues = allQueueNames().map((name) => new Queue(name, { connection, prefix: config.queuePrefix }));
  const probes = await startProbeServer({
    port: config.http.metricsPort,
    metrics,
    ready: async () => {
      if (connection.status !== 'ready') throw new Error(`redis ${connection.status}`);
      await connection.ping();
    },
    beforeScrape: () => refreshQueueGauges(metrics, queues),
  });
  logger.info({ components: names, metricsPort: probes.port }, 'worker process ready');
  onShutdown(logger, async () => {
    await Promise.all(components.map((c) => c.close(config.shutdownTimeoutMs)));
    await Promise.all(queues.map((q) => q.close()));
    await probes.close();
    await connection.quit().catch(() => connection.disconnect());
  });
}

export async function refreshQueueGauges(metrics: Metrics, queues: Queue[]): Promise<void> {
  await Promise.all(queues.map(async (q) => {
    const counts = await q.getJobCounts(...JOB_STATES);
    for (const state of JOB_STATES) metrics.queueJobs.set({ queue: q.name, state }, counts[state] ?? 0);
  }));
}

export type { Logger };
