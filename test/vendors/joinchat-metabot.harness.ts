/**
 * Test harness for the JoinChat and Metabot delivery tests: real Redis, the sandbox, real delivery workers
 * (built exactly as production builds them), and helpers to enqueue deliveries and wait for their final state.
 */
import { startChildWorker } from '../support/child-worker.js';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { AppConfig } from '../../src/config/env.js';
import { loadRoutesFile } from '../../src/fanout/routes.js';
import { createVendorDeliveryWorker, type DeliveryWorker } from '../../src/app/delivery-worker.js';
import type { VendorAdapter } from '../../src/delivery/types.js';
import { createFanoutWorker } from '../../src/fanout/worker.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { deliveryQueueName, JOB_NAMES } from '../../src/queues/names.js';
import { deliveryJobOptions } from '../../src/queues/options.js';
import { createLogger, type Logger } from '../../src/runtime/logger.js';
import { Redactor } from '../../src/runtime/redact.js';
import { secretValues } from '../../src/config/secrets.js';
import { startSandbox, type RecordedRequest, type Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../support/ports.js';
import { sandboxEnv, testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

export type RigVendor = 'joinchat' | 'metabot' | 'http';

/** One Redis and one sandbox per test file; everything else is per test (fresh queue prefix). */
export interface Rig {
  redis: TestRedis;
  sandbox: Sandbox;
  /** A config pointed at this rig's Redis and sandbox, with a fresh queue prefix. */
  config(env?: Record<string, string>): AppConfig;
  /** Delivery workers (each on its own Redis connection, like separate replicas). */
  startWorkers(vendor: RigVendor, config: AppConfig, opts?: { replicas?: number; logger?: Logger; adapter?: VendorAdapter<unknown> }): Promise<Workers>;
  /** Adds delivery jobs straight to the vendor queue, as the fan-out would (id = deliveryId). */
  enqueue(vendor: RigVendor, config: AppConfig, deliveries: Array<{ id: string; payload: unknown; orderId?: string }>): Promise<void>;
  /** The full path: producer → fan-out (config/routes.example.yaml) → the vendor's delivery worker → sandbox. */
  startPipeline(vendor: RigVendor, config: AppConfig): Promise<Pipeline>;
  /** Closes whatever the current test started. */
  cleanup(): Promise<void>;
  close(): Promise<void>;
}

export interface Workers {
  list: DeliveryWorker[];
  records: OrderRecords;
  /** Jobs each replica completed. */
  completedBy: number[];
}

export interface Pipeline {
  producer: OrderNotifyProducer;
  records: OrderRecords;
}

export async function startRig(): Promise<Rig> {
  const redis = await startRedis();
  const sandbox = await startSandbox({ port: await freePort() });
  const closers: Array<() => Promise<void>> = [];
  const connection = (): RedisConnection => {
    const c = createRedis({ url: redis.url }, 'worker');
    closers.push(async () => { await c.quit().catch(() => c.disconnect()); });
    return c;
  };
  const silent = createLogger({ level: 'silent' });

  const rig: Rig = {
    redis,
    sandbox,
    config: (env = {}) => testConfig(redis.url, { ...sandboxEnv(sandbox), ...env }),
    async startWorkers(vendor, config, opts = {}) {
      const list: DeliveryWorker[] = [];
      const completedBy: number[] = [];
      const first = connection();
      const records = new OrderRecords(first, config.queuePrefix, config.orderRetentionMs);
      for (let i = 0; i < (opts.replicas ?? 1); i++) {
        const conn = i === 0 ? first : connection();
        const w = createVendorDeliveryWorker({
          vendor, config, connection: conn, records: new OrderRecords(conn, config.queuePrefix, config.orderRetentionMs),
          metrics: new Metrics({ defaultMetrics: false }), logger: opts.logger ?? silent, adapter: opts.adapter,
        });
        completedBy.push(0);
        w.worker.on('completed', () => { completedBy[i]! += 1; });
        // Closed before the connections (closers run in reverse).
        closers.push(() => w.close(5_000));
        list.push(w);
      }
      return { list, records, completedBy };
    },
    async enqueue(vendor, config, deliveries) {
      const queue = new Queue(deliveryQueueName(vendor), { connection: connection(), prefix: config.queuePrefix, defaultJobOptions: deliveryJobOptions(config) });
      closers.push(() => queue.close());
      const createdAt = new Date().toISOString();
      await queue.addBulk(deliveries.map((d) => ({
        name: JOB_NAMES.delivery,
        data: { deliveryId: d.id, orderId: d.orderId ?? `order-${d.id}`, ruleId: 'test-rule', vendor, payload: d.payload, createdAt },
        opts: { jobId: d.id },
      })));
    },
    async startPipeline(vendor, config) {
      const conn = connection();
      const records = new OrderRecords(conn, config.queuePrefix, config.orderRetentionMs);
      const fanout = createFanoutWorker({
        config, routes: loadRoutesFile('config/routes.example.yaml'), connection: conn, records,
        metrics: new Metrics({ defaultMetrics: false }), logger: silent,
      });
      closers.push(() => fanout.close(5_000));
      await rig.startWorkers(vendor, config);
      const producer = createProducer({ redisUrl: redis.url, prefix: config.queuePrefix });
      closers.push(() => producer.close());
      return { producer, records };
    },
    async cleanup() {
      for (const close of closers.splice(0).reverse()) await close();
    },
    async close() {
      await rig.cleanup();
      await sandbox.close();
      await redis.stop();
    },
  };
  return rig;
}

export interface FinalJob { job: Job; state: 'completed' | 'failed' }

/** Waits until every job is completed or failed for good (a job that will be retried is neither); returns them. */
export async function finalJobs(vendor: RigVendor, config: AppConfig, redisUrl: string, ids: string[], timeoutMs = 30_000): Promise<Map<string, FinalJob>> {
  const conn = createRedis({ url: redisUrl }, 'worker');
  const queue = new Queue(deliveryQueueName(vendor), { connection: conn, prefix: config.queuePrefix });
  try {
    const states = new Map<string, FinalJob['state']>();
    await waitFor(async () => {
      for (const id of ids) {
        if (states.has(id)) continue;
        const state = await queue.getJobState(id);
        if (state === 'completed' || state === 'failed') states.set(id, state);
      }
      return states.size === ids.length;
    }, `${ids.length} ${vendor} jobs to finish`, timeoutMs);
    const jobs = new Map<string, FinalJob>();
    for (const id of ids) jobs.set(id, { job: (await queue.getJob(id))!, state: states.get(id)! });
    return jobs;
  } finally {
    await queue.close();
    await conn.quit().catch(() => conn.disconnect());
  }
}

/** How many accepted requests each key (recipient, lead) got. */
export function countBy(requests: RecordedRequest[], key: (body: any) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of requests) {
    const k = key(r.body);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** A logger that keeps every line (JSON) so tests can check what was — and was not — logged. */
export function capturingLogger(lines: string[], config: AppConfig): Logger {
  // The production redactor (it knows the configured secrets), so the test sees what a real process would print.
  return createLogger({ level: 'debug', redactor: new Redactor(secretValues(config)), destination: { write: (s: string) => { lines.push(s); } } });
}

/** Everything under a queue prefix, as text: job data, failed reasons, events, ledger entries, records. */
export async function redisDump(redisUrl: string, prefix: string): Promise<string> {
  const r = new Redis(redisUrl);
  try {
    const out: string[] = [];
    for (const key of await r.keys(`${prefix}:*`)) {
      const type = await r.type(key);
      const value = type === 'hash' ? await r.hgetall(key)
        : type === 'string' ? await r.get(key)
          : type === 'list' ? await r.lrange(key, 0, -1)
            : type === 'zset' ? await r.zrange(key, 0, -1)
              : type === 'set' ? await r.smembers(key)
                : type === 'stream' ? await r.xrange(key, '-', '+') : null;
      out.push(`${key} ${JSON.stringify(value)}`);
    }
    return out.join('\n');
  } finally {
    r.disconnect();
  }
}

export interface WorkerProcess {
  metricsPort: number;
  /** stdout + stderr so far. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts a workers/<name>.ts entry as a real process against the rig (the shared child-process rig), ready on /readyz. */
export async function runWorkerProcess(entry: string, rig: Rig, config: AppConfig): Promise<WorkerProcess> {
  const child = await startChildWorker(entry, {
    ...sandboxEnv(rig.sandbox),
    REDIS_URL: rig.redis.url, QUEUE_PREFIX: config.queuePrefix, LOG_LEVEL: 'info', DELIVERY_BACKOFF: '50ms', SHUTDOWN_TIMEOUT: '5s',
  }, { keepLines: Infinity });
  return { metricsPort: child.port, output: () => child.output(), stop: async () => (await child.kill('SIGTERM')).code };
}
