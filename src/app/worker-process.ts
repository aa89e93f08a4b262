import type pino from 'pino';
import { ConfigError, loadConfig, type AppConfig } from '../config/env.js';
import { RoutesError } from '../fanout/routes.js';
import { secretValues } from '../config/secrets.js';
import type { ApiCredentials } from '../http/credentials.js';
import { createApiServer, type ApiServer } from '../http/server.js';
import { Metrics } from '../observability/metrics.js';
import { startProbeServer, type ProbeServer } from '../observability/probe-server.js';
import { QueueDepthGauges } from '../observability/queue-depth.js';
import { redisReady } from '../observability/readiness.js';
import { createRedis, waitReady, type RedisConnection } from '../queues/connection.js';
import { allQueueNames } from '../queues/names.js';
import { VENDORS } from '../vendors/registry.js';
import { startComponents, WORKER_COMPONENTS, type RunningComponent } from './components.js';
import { EXIT, StartupError } from '../runtime/exit-codes.js';
import { checkRedis } from '../runtime/redis-checks.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { Redactor } from '../runtime/redact.js';
import { onShutdown } from '../runtime/shutdown.js';
import { NO_TRACING, startTracing } from '../observability/tracing.js';

/** Every name `start` accepts: the worker components (read at call time, so a new one is picked up) and the API. */
export function processComponents(): string[] {
  return [...WORKER_COMPONENTS, 'api'];
}

export interface ProcessOptions {
  env?: NodeJS.ProcessEnv;
  /** Out-of-the-box mode: the API generates a missing INGEST_TOKEN / dashboard login (returned in `api.credentials`). */
  generateMissingCredentials?: boolean;
  /** Where log lines go (default stdout). */
  logDestination?: pino.DestinationStream;
  /** How long to wait for Redis at start-up before exiting with code 4 (default 30 s). */
  redisReadyTimeoutMs?: number;
  /** Replaces how worker components are built (tests plug a fake vendor adapter in here). */
  startComponents?: typeof startComponents;
  /** Bind address for the HTTP/probe port (default 0.0.0.0). */
  host?: string;
}

export interface RunningProcess {
  config: AppConfig;
  logger: Logger;
  metrics: Metrics;
  components: string[];
  /** Present when `api` runs here; its port also serves /healthz and /readyz (metrics: `probes`). */
  api?: { url: string; port: number; credentials: ApiCredentials };
  /** The probe port (METRICS_PORT): /healthz, /readyz and /metrics for the whole process. */
  probes?: { port: number };
  /** Graceful stop: no new jobs or requests, active jobs get SHUTDOWN_TIMEOUT, then queues and Redis close. */
  close(): Promise<void>;
}

/**
 * Assembles one process from named components: config → logger → Redis → workers → API or probe server.
 * Throws StartupError carrying the exit code (2 bad config, 4 Redis unreachable, 1 otherwise).
 */
export async function startProcess(names: readonly string[], opts: ProcessOptions = {}): Promise<RunningProcess> {
  const known = processComponents();
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) throw new StartupError(`unknown component ${unknown.map((n) => `"${n}"`).join(', ')} (known: ${known.join(', ')})`, EXIT.failure);
  if (names.length === 0) throw new StartupError(`no component to run (known: ${known.join(', ')})`, EXIT.failure);
  const workerNames = names.filter((n) => n !== 'api');
  const withApi = names.includes('api');

  let config: AppConfig;
  try {
    config = loadConfig(opts.env ?? process.env);
  } catch (e) {
    if (e instanceof ConfigError) throw new StartupError(e.message, EXIT.config, { cause: e });
    throw e;
  }
  const redactor = new Redactor(secretValues(config));
  const name = known.every((n) => names.includes(n)) ? 'all' : names.join('+');
  const logger = createLogger({ level: config.logLevel, name, redactor, destination: opts.logDestination });
  const metrics = new Metrics();
  // Off unless an OTEL_* variable asks for traces; only then is the OpenTelemetry SDK loaded.
  // A tracing problem (a malformed OTEL_* value) costs the traces, never the service.
  const tracing = await startTracing({ env: opts.env ?? process.env, serviceName: `order-notify-${name}`, scrub: (t) => redactor.text(t) })
    .catch((e: unknown) => {
      logger.warn({ err: e instanceof Error ? e.message : String(e) }, 'tracing could not start; running without it (see docs/tracing.md)');
      return NO_TRACING;
    });
  const cleanups: Array<() => Promise<void>> = [() => tracing.shutdown()];
  const cleanup = async () => { for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined); };

  // The first connection to come up also checks the server (version, eviction policy) once.
  let checked = false;
  const connect = async (conn: RedisConnection) => {
    await waitForRedis(conn, config, redactor, opts.redisReadyTimeoutMs);
    if (!checked) {
      checked = true;
      await checkRedis(conn, logger);
    }
  };
  try {
    let worker: RedisConnection | undefined;
    let components: RunningComponent[] = [];
    if (workerNames.length) {
      worker = createRedis(config.redis, 'worker');
      worker.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
      cleanups.push(() => closeConnection(worker!));
      await connect(worker);
      try {
        components = await (opts.startComponents ?? startComponents)(workerNames, { config, connection: worker, metrics, logger, tracing });
      } catch (e) {
        if (e instanceof RoutesError) throw new StartupError(e.message, EXIT.config, { cause: e });
        throw e;
      }
      cleanups.push(() => Promise.all(components.map((c) => c.close(config.shutdownTimeoutMs))).then(() => undefined));
    }

    let api: ApiServer | undefined;
    let producerConnection: RedisConnection | undefined;
    let apiAddress: { url: string; port: number } | undefined;
    let probes: ProbeServer | undefined;
    let gauges: QueueDepthGauges | undefined;
    let stopping = false;
    if (withApi) {
      producerConnection = createRedis(config.redis, 'producer');
      producerConnection.on('error', () => {}); // surfaces as 503 and in /readyz
      cleanups.push(() => closeConnection(producerConnection!));
      await connect(producerConnection);
      api = await createApiServer({
        config, logger, metrics, redactor, connection: producerConnection,
        generateMissingCredentials: opts.generateMissingCredentials,
        ready: worker ? () => redisReady(worker) : undefined,
        tracing,
      });
      cleanups.push(() => api!.close());
      apiAddress = await listenOrFail(() => api!.listen({ host: opts.host }), config.http.port, 'HTTP_PORT');
    } else {
      gauges = new QueueDepthGauges(metrics, worker!, config.keys, allQueueNames(VENDORS, config.partitions));
      cleanups.push(() => gauges!.close());
    }
    // /metrics only ever on METRICS_PORT, never on the public API port; /healthz and /readyz here too.
    const probeRedis = worker ?? producerConnection!;
    probes = await listenOrFail(() => startProbeServer({
      port: config.http.metricsPort, host: opts.host, metrics,
      ready: async () => {
        if (stopping) throw new Error('shutting down');
        await redisReady(probeRedis);
        for (const c of components) await c.ready?.();
      },
    }), config.http.metricsPort, 'METRICS_PORT');
    cleanups.push(() => probes!.close());
    logger.info({ components: names, httpPort: apiAddress?.port, metricsPort: probes?.port }, 'process ready');

    let closing: Promise<void> | undefined;
    return {
      config, logger, metrics, components: [...names],
      api: api && apiAddress ? { ...apiAddress, credentials: api.credentials } : undefined,
      probes: probes ? { port: probes.port } : undefined,
      close() {
        closing ??= (async () => {
          stopping = true;
          // The API stops taking events first; then the workers finish their active jobs in parallel (bounded by
          // SHUTDOWN_TIMEOUT); then the helpers startComponents added on its own (the results hand-back), since a
          // job finishing in its grace period still hands its result back through them; then probes and Redis.
          if (api) await api.close();
          const named = components.filter((c) => workerNames.includes(c.name));
          const helpers = components.filter((c) => !workerNames.includes(c.name));
          await Promise.all(named.map((c) => c.close(config.shutdownTimeoutMs)));
          await Promise.all(helpers.map((c) => c.close(config.shutdownTimeoutMs)));
          await gauges?.close();
          await probes?.close();
          if (producerConnection) await closeConnection(producerConnection);
          if (worker) await closeConnection(worker);
          await tracing.shutdown(); // exports the spans still buffered
        })();
        return closing;
      },
    };
  } catch (e) {
    await cleanup();
    if (e instanceof StartupError) throw e;
    logger.fatal({ err: e }, 'start-up failed');
    throw new StartupError(`start-up failed: ${redactor.text(e instanceof Error ? e.message : String(e))}`, EXIT.failure, { cause: e });
  }
}

/**
 * The body of every workers/<name>.ts entry and of `order-notify start`: starts the process, exits 0 after a
 * graceful stop on SIGTERM/SIGINT, or prints the start-up problem and exits with its code.
 */
export async function runProcess(names: readonly string[], opts: ProcessOptions = {}): Promise<RunningProcess> {
  try {
    const running = await startProcess(names, opts);
    // The hard deadline outlasts the graceful one, so only a hung close (Redis gone mid-shutdown) hits it.
    onShutdown(running.logger, () => running.close(), { forceAfterMs: running.config.shutdownTimeoutMs + 10_000 });
    return running;
  } catch (e) {
    if (e instanceof StartupError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(e.exitCode);
    }
    throw e;
  }
}

/** Kept for the one-line worker entries. */
export async function runWorkerProcess(names: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await runProcess(names, { env });
}

async function waitForRedis(conn: RedisConnection, config: AppConfig, redactor: Redactor, timeoutMs = 30_000): Promise<void> {
  try {
    await waitReady(conn, timeoutMs);
  } catch (e) {
    const target = config.redis.clusterNodes?.length ? config.redis.clusterNodes.join(',') : config.redis.url;
    throw new StartupError(`Redis at ${redactor.text(target)} is unreachable: ${e instanceof Error ? e.message : String(e)}`, EXIT.redisUnavailable, { cause: e });
  }
}

async function listenOrFail<T>(listen: () => Promise<T>, port: number, variable: string): Promise<T> {
  try {
    return await listen();
  } catch (e) {
    if ((e as { code?: string }).code === 'EADDRINUSE') throw new StartupError(`port ${port} is already in use (set ${variable})`, EXIT.config, { cause: e });
    throw e;
  }
}

async function closeConnection(conn: RedisConnection): Promise<void> {
  // QUIT waits for Redis; when it is away the command would queue forever on a worker connection.
  if (conn.status === 'ready') await conn.quit().catch(() => conn.disconnect());
  else conn.disconnect();
}

export type { Logger };
