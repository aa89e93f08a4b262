/**
 * Test rig for the Twin24 send side: one private Redis and one sandbox per test file; per test a fresh queue
 * prefix, delivery workers built exactly as production builds them, and helpers to enqueue and wait.
 */
import { Queue, type Job } from 'bullmq';
import pino from 'pino';
import type { AppConfig, Twin24Config } from '../../src/config/env.js';
import { createVendorDeliveryWorker, type DeliveryWorker } from '../../src/app/delivery-worker.js';
import type { VendorAdapter } from '../../src/delivery/types.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { deliveryQueueName, JOB_NAMES } from '../../src/queues/names.js';
import { deliveryJobOptions } from '../../src/queues/options.js';
import { startSandbox, type RecordedRequest, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { sandboxEnv, testConfig } from '../support/config.js';
import { freePort } from '../support/ports.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

export const silent = pino({ level: 'silent' });

export interface Twin24Delivery {
  orderId: string;
  phone: string;
  text?: string;
  chatSessionName?: string;
  variables?: Record<string, string>;
  chatId?: string;
}

export interface Twin24Rig {
  redis: TestRedis;
  sandbox: Sandbox;
  /** Login mode against the sandbox unless env overrides; fresh queue prefix each call. */
  config(env?: Record<string, string | undefined>): AppConfig;
  twin24(config: AppConfig): Twin24Config;
  connection(): RedisConnection;
  startWorkers(config: AppConfig, opts?: { replicas?: number; adapter?: (ctx: { config: AppConfig }) => VendorAdapter<unknown> }): Promise<Workers>;
  enqueue(config: AppConfig, deliveries: Twin24Delivery[]): Promise<void>;
  /** Waits until each delivery is completed or failed for good, and returns the jobs by order id. */
  finalJobs(config: AppConfig, orderIds: string[], timeoutMs?: number): Promise<Map<string, Job>>;
  cleanup(): Promise<void>;
  close(): Promise<void>;
}

export interface Workers {
  list: DeliveryWorker[];
  records: OrderRecords;
  metrics: Metrics[];
}

export const RULE = 'wa-test';
export const deliveryIdOf = (orderId: string) => `${RULE}.${orderId}`;

/** A phone the sandbox accepts, unique per i. */
export const phoneOf = (i: number) => `66${String(800_000_000 + i)}`;

export async function startTwin24Rig(sandboxOpts: SandboxOptions = {}): Promise<Twin24Rig> {
  const redis = await startRedis();
  const sandbox = await startSandbox({ port: await freePort(), ...sandboxOpts });
  const closers: Array<() => Promise<void>> = [];
  const connection = (): RedisConnection => {
    const c = createRedis({ url: redis.url }, 'worker');
    closers.push(async () => { await c.quit().catch(() => c.disconnect()); });
    return c;
  };
  const queueOf = (config: AppConfig) => {
    const q = new Queue(deliveryQueueName('twin24'), { connection: connection(), prefix: config.queuePrefix, defaultJobOptions: deliveryJobOptions(config) });
    closers.push(() => q.close());
    return q;
  };

  const rig: Twin24Rig = {
    redis,
    sandbox,
    config: (env = {}) => testConfig(redis.url, { ...sandboxEnv(sandbox), ...env }),
    twin24: (config) => config.vendors.twin24!,
    connection,
    async startWorkers(config, opts = {}) {
      const list: DeliveryWorker[] = [];
      const metrics: Metrics[] = [];
      let records: OrderRecords | undefined;
      for (let i = 0; i < (opts.replicas ?? 1); i++) {
        const conn = connection();
        const m = new Metrics({ defaultMetrics: false });
        const r = new OrderRecords(conn, config.queuePrefix, config.orderRetentionMs);
        records ??= r;
        const adapter = opts.adapter?.({ config });
        const w = createVendorDeliveryWorker({ vendor: 'twin24', config, connection: conn, records: r, metrics: m, logger: silent, adapter });
        closers.push(() => w.close(5_000));
        list.push(w);
        metrics.push(m);
      }
      return { list, records: records!, metrics };
    },
    async enqueue(config, deliveries) {
      const queue = queueOf(config);
      const createdAt = new Date().toISOString();
      await queue.addBulk(deliveries.map((d) => ({
        name: JOB_NAMES.delivery,
        data: {
          deliveryId: deliveryIdOf(d.orderId), orderId: d.orderId, ruleId: RULE, vendor: 'twin24', createdAt,
          payload: {
            chatSessionName: d.chatSessionName ?? 'order-paid', text: d.text ?? 'Hello {{name}}, order {{order}} is paid.',
            ...(d.chatId ? { chatId: d.chatId } : {}),
            destination: { phone: d.phone, variables: d.variables ?? { name: `N-${d.orderId}`, order: d.orderId } },
          },
        },
        opts: { jobId: deliveryIdOf(d.orderId) },
      })));
    },
    async finalJobs(config, orderIds, timeoutMs = 30_000) {
      const queue = queueOf(config);
      const open = new Set(orderIds.map(deliveryIdOf));
      await waitFor(async () => {
        for (const id of [...open]) {
          const state = await queue.getJobState(id);
          if (state === 'completed' || state === 'failed') open.delete(id);
        }
        return open.size === 0;
      }, `${orderIds.length} twin24 jobs to finish (open: ${[...open].slice(0, 3).join(', ')})`, timeoutMs);
      const jobs = new Map<string, Job>();
      for (const o of orderIds) jobs.set(o, (await queue.getJob(deliveryIdOf(o)))!);
      return jobs;
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

/** Ctx pieces for using the Twin24 modules directly (auth, adapter) outside a worker. */
export function directCtx(rig: Twin24Rig, config: AppConfig, metrics = new Metrics({ defaultMetrics: false })) {
  return {
    config: rig.twin24(config), redis: rig.connection(), prefix: config.queuePrefix,
    http: createVendorHttp(config.delivery.vendorTimeoutMs), logger: silent, metrics,
  };
}

/** Accepted send requests and the auth calls the sandbox saw. */
export const sends = (sandbox: Sandbox): RecordedRequest[] => sandbox.accepted('twin24').filter((r) => r.path === '/messages');
export const authCalls = (sandbox: Sandbox, path?: '/auth/login' | '/auth/refresh'): RecordedRequest[] =>
  sandbox.requests('twin24').filter((r) => (path ? r.path === path : r.path.startsWith('/auth/')));

/** Destinations per phone across accepted requests (each accepted destination created one message). */
export function destinationsPerPhone(sandbox: Sandbox): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of sends(sandbox)) {
    for (const m of (r.body as any).messages) for (const d of m.destinations) counts.set(d.phone, (counts.get(d.phone) ?? 0) + 1);
  }
  return counts;
}

export async function counterValue(metrics: Metrics, name: 'tokenRefreshes'): Promise<number> {
  const v = await metrics[name].get();
  return v.values.reduce((s, x) => s + x.value, 0);
}

/** A raw JSON POST (for poking the sandbox directly). */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
