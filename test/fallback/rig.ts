/**
 * Rig for the fallback and quiet-hours tests: a private Redis and the sandbox, and the real components (fan-out,
 * delivery workers, Twin24 correlator on its scheduler, hand-back) started the way production starts them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import pino from 'pino';
import type { AppConfig } from '../../src/config/env.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import type { CustomerChannels } from '../../src/events/order-paid.js';
import { Metrics } from '../../src/observability/metrics.js';
import type { OrderRecord } from '../../src/orders/record.js';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { deliveryQueueName, QUEUES } from '../../src/queues/names.js';
import { startComponents, type RunningComponent } from '../../src/app/components.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { notificationsOf, type OrderNotification } from '../../src/orders/handback.js';
import { sandboxEnv, testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

export interface FallbackRig {
  redis: TestRedis;
  sandbox: Sandbox;
  config: AppConfig;
  connection: RedisConnection;
  metrics: Metrics;
  producer: OrderNotifyProducer;
  /** The quiet-hours clock: real time shifted by `offsetMs` (change it to move time). */
  clock: { offsetMs: number; now(): number };
  send(orderId: string, channels: CustomerChannels, timeZone?: string): Promise<void>;
  settledChain(orderId: string, timeoutMs?: number): Promise<OrderRecord>;
  order(orderId: string): Promise<OrderRecord>;
  queue(name: string): Queue;
  notifications(orderId: string): Promise<OrderNotification[]>;
  close(): Promise<void>;
}

export async function startFallbackRig(opts: { routesYaml: string; sandbox?: SandboxOptions; env?: Record<string, string>; components?: string[] }): Promise<FallbackRig> {
  const redis = await startRedis();
  const sandbox = await startSandbox(opts.sandbox ?? {});
  const dir = mkdtempSync(join(tmpdir(), 'order-notify-fallback-'));
  const routesFile = join(dir, 'routes.yaml');
  writeFileSync(routesFile, opts.routesYaml);
  const config = testConfig(redis.url, { ...sandboxEnv(sandbox), ROUTES_FILE: routesFile, TWIN24_POLL_EVERY: '150ms', SEND_WINDOW_SPREAD: '0', ...opts.env });
  const connection = createRedis(config.redis, 'worker');
  const metrics = new Metrics({ defaultMetrics: false });
  const clock = { offsetMs: 0, now() { return Date.now() + this.offsetMs; } };
  const running: RunningComponent[] = await startComponents(opts.components ?? ['fanout', 'mantago', 'joinchat', 'twin24', 'twin24-correlator'], {
    config, connection, metrics, logger: pino({ level: 'silent' }), now: () => clock.now(),
  });
  const producer = createProducer({ redisUrl: config.redis.url, prefix: config.queuePrefix });
  const queues = new Map<string, Queue>();
  const queue = (name: string) => {
    if (!queues.has(name)) queues.set(name, new Queue(name, { connection, prefix: config.queuePrefix }));
    return queues.get(name)!;
  };
  const order = async (orderId: string) => (await producer.getOrder(orderId))!;
  return {
    redis, sandbox, config, connection, metrics, producer, clock, queue, order,
    async send(orderId, channels, timeZone) {
      await producer.orderPaid({ ...SAMPLE_ORDER_PAID, orderId, customer: { ...SAMPLE_ORDER_PAID.customer, channels, ...(timeZone ? { timeZone } : {}) } });
    },
    async settledChain(orderId, timeoutMs = 20_000) {
      return waitFor(async () => {
        const o = await producer.getOrder(orderId);
        return o?.chains?.length && o.chains.every((c) => c.state !== 'in_flight') ? o : undefined;
      }, `the chains of ${orderId} to settle`, timeoutMs);
    },
    async notifications(orderId) {
      const jobs: Job[] = await queue(QUEUES.results).getJobs(['waiting', 'completed', 'failed', 'delayed'], 0, -1);
      return jobs.flatMap((j) => notificationsOf(j.data)).filter((n) => n.orderId === orderId);
    },
    async close() {
      await Promise.all(running.map((c) => c.close(5_000)));
      await Promise.all([...queues.values()].map((q) => q.close()));
      await producer.close();
      connection.disconnect();
      await sandbox.close();
      await redis.stop();
    },
  };
}

export { deliveryQueueName, waitFor };

/** Accepted send requests per vendor that carried `needle` (a recipient) anywhere in the body. */
export function sendsTo(sandbox: Sandbox, vendor: 'mantago' | 'joinchat' | 'twin24', needle: string): number {
  const sendPaths: Record<string, string> = { mantago: '/openapi/broadcast', joinchat: '/send_message', twin24: '/messages' };
  return sandbox.accepted(vendor).filter((r) => r.path === sendPaths[vendor] && r.rawBody.includes(needle)).length;
}

/** Every request (accepted or refused) to the vendor's send endpoint that carried `needle`. */
export function attemptsTo(sandbox: Sandbox, vendor: 'mantago' | 'joinchat' | 'twin24', needle: string): number {
  const sendPaths: Record<string, string> = { mantago: '/openapi/broadcast', joinchat: '/send_message', twin24: '/messages' };
  return sandbox.requests(vendor).filter((r) => r.path === sendPaths[vendor] && r.rawBody.includes(needle)).length;
}
