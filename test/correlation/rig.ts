/**
 * Rig for the correlation tests: a private Redis and the sandbox, the real front half and Twin24 sender started the
 * way production starts them (startComponents), and the correlator tick called directly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import pino from 'pino';
import type { AppConfig } from '../../src/config/env.js';
import { AnalyseClient } from '../../src/vendors/twin24/correlation/analyse-client.js';
import { runCorrelationTick, type TickSummary } from '../../src/vendors/twin24/correlation/correlator.js';
import { PendingMessages } from '../../src/vendors/twin24/correlation/pending.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createResultsHandback, notificationId, recordsFor, type ResultsHandback } from '../../src/orders/handback.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { QUEUES } from '../../src/queues/names.js';
import { startComponents, type RunningComponent } from '../../src/app/components.js';
import { startSandbox, type RecordedRequest, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { createTwin24Auth } from '../../src/vendors/twin24/auth.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { sandboxEnv, testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor, sleep } from '../support/wait.js';

export const RULE = 'wa-confirm';
export const silent = pino({ level: 'silent' });
export const ANALYSE_PATHS = ['/statistics/messaging/messages', '/statistics/chat/sessions'];

/** Phones the sandbox accepts; unique per i, and the last digit lets a test pick the outcome. */
export const phoneOf = (i: number) => `6681${String(1_000_000 + i).slice(-7)}`;
export const orderIdOf = (i: number) => `ORD-${i}`;

const ROUTES_YAML = `version: 1
rules:
  - id: ${RULE}
    vendor: twin24
    channel: whatsapp
    message:
      chatSessionName: order-paid
      text: 'Hello \\{{name}}! Order \\{{order}} is paid.'
      variables:
        name: "{{customer.name}}"
        order: "{{orderId}}"
`;

export interface Pipeline {
  config: AppConfig;
  connection: RedisConnection;
  records: OrderRecords;
  pending: PendingMessages;
  producer: OrderNotifyProducer;
  handback: ResultsHandback;
  results: Queue;
  /** notificationId of every status change the records reported (what the hand-back must deliver once each). */
  changes: string[];
  tick(): Promise<TickSummary>;
  sendOrders(count: number, start?: number): Promise<string[]>;
  close(): Promise<void>;
}

export interface Rig {
  redis: TestRedis;
  sandbox: Sandbox;
  pipeline(env?: Record<string, string | undefined>, components?: string[]): Promise<Pipeline>;
  analyseRequests(since?: number): RecordedRequest[];
  close(): Promise<void>;
}

export async function startRig(sandboxOpts: SandboxOptions = {}): Promise<Rig> {
  const redis = await startRedis();
  const sandbox = await startSandbox(sandboxOpts);
  const dir = mkdtempSync(join(tmpdir(), 'order-notify-corr-'));
  const routesFile = join(dir, 'routes.yaml');
  writeFileSync(routesFile, ROUTES_YAML);
  const open: Pipeline[] = [];

  async function pipeline(env: Record<string, string | undefined> = {}, components = ['fanout', 'twin24']): Promise<Pipeline> {
    const config = testConfig(redis.url, { ...sandboxEnv(sandbox), ROUTES_FILE: routesFile, ...env });
    const connection = createRedis(config.redis, 'worker');
    const metrics = new Metrics({ defaultMetrics: false });
    const records = recordsFor(config, connection);
    const handback = createResultsHandback({ config, connection, logger: silent, records });
    const changes: string[] = [];
    records.onChange(async ({ orderId, delivery }) => { if (delivery.status) changes.push(notificationId(orderId, delivery)); });
    records.onChange(handback.listener);
    const running: RunningComponent[] = await startComponents(components, { config, connection, metrics, logger: silent, records });
    const producer = createProducer({ redisUrl: config.redis.url, prefix: config.queuePrefix });
    const pending = new PendingMessages(connection, config.queuePrefix);
    const twin24 = config.vendors.twin24!;
    const http = createVendorHttp(5_000);
    const tokens = createTwin24Auth({ config: twin24, redis: connection, prefix: config.queuePrefix, http, logger: silent, metrics });
    // Short page-retry backoff keeps fault tests quick.
    const client = new AnalyseClient({ analyseUrl: twin24.analyseUrl, http, tokens, metrics, pageSize: twin24.statsPageSize, sessionFields: twin24.sessionFields, pageRetryBackoffMs: 20 });
    const lookupMemory = {};
    const results = new Queue(QUEUES.results, { connection, prefix: config.queuePrefix });

    const p: Pipeline = {
      config, connection, records, pending, producer, handback, results, changes,
      tick: () => runCorrelationTick({ settings: twin24, pending, records, client, logger: silent, metrics, lookupMemory }),
      async sendOrders(count, start = 0) {
        const ids = Array.from({ length: count }, (_, i) => orderIdOf(start + i));
        const before = await pending.count();
        await producer.orderPaidBulk(ids.map((orderId, i) => ({
          ...SAMPLE_ORDER_PAID,
          orderId,
          customer: { ...SAMPLE_ORDER_PAID.customer, channels: { whatsappPhone: `+${phoneOf(start + i)}` } },
        })));
        await waitFor(async () => (await pending.count()) >= before + count, `${count} Twin24 messages in the pending set`, 30_000);
        return ids;
      },
      async close() {
        await Promise.all(running.map((c) => c.close(5_000)));
        await producer.close();
        await handback.close();
        await results.close();
        connection.disconnect();
      },
    };
    open.push(p);
    return p;
  }

  return {
    redis,
    sandbox,
    pipeline,
    analyseRequests: (since = 0) => sandbox.requests('twin24').filter((r) => r.seq > since && ANALYSE_PATHS.includes(r.path)),
    async close() {
      for (const p of open) await p.close().catch(() => undefined);
      await sandbox.close();
      await redis.stop();
    },
  };
}

export const lastSeq = (sandbox: Sandbox) => sandbox.requests().at(-1)?.seq ?? 0;

/** Ticks until nothing is pending (or fails naming what is left). */
export async function tickUntilSettled(p: Pipeline, maxTicks = 60, everyMs = 100): Promise<TickSummary[]> {
  const summaries: TickSummary[] = [];
  for (let i = 0; i < maxTicks; i++) {
    summaries.push(await p.tick());
    if ((await p.pending.count()) === 0) return summaries;
    await sleep(everyMs);
  }
  throw new Error(`still ${await p.pending.count()} pending after ${maxTicks} ticks`);
}

export async function jobsOf(queue: Queue): Promise<Job[]> {
  return queue.getJobs(['waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'], 0, -1);
}
