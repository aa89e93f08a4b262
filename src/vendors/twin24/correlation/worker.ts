import type { Job, Queue, Worker } from 'bullmq';
import type { AppConfig, Twin24Config } from '../../../config/env.js';
import { asVendorError, invalidJob, mapFailure } from '../../../delivery/outcome.js';
import type { Metrics } from '../../../observability/metrics.js';
import type { OrderRecords } from '../../../orders/record.js';
import type { RedisConnection } from '../../../queues/connection.js';
import { JOB_NAMES, QUEUES, vendorGroup } from '../../../queues/names.js';
import { closeWorker } from '../../../runtime/close-worker.js';
import type { Logger } from '../../../runtime/logger.js';
import { createTwin24Auth, type Twin24TokenSource } from '../auth.js';
import { VENDOR } from '../errors.js';
import { RedisLock } from '../../../runtime/redis-lock.js';
import { createVendorHttp } from '../../../http-client/instance.js';
import { AnalyseClient } from './analyse-client.js';
import { runCorrelationTick, sweepPendingByAge, type TickSummary } from './correlator.js';
import { lockOptions, queueAt, workerAt } from '../../../queues/options.js';
import { PendingMessages } from './pending.js';
import { openQueue, openWorker } from '../../../queues/open-queue.js';
import { NO_TRACING, type Tracing } from '../../../observability/tracing.js';
import { withVendorCallSpans } from '../../../delivery/vendor-call-spans.js';

/** The one scheduler id: upserting it again (every replica does at start-up) replaces it, never duplicates it. */
export const CORRELATE_SCHEDULER_ID = 'twin24-correlate';

export interface CorrelatorWorkerDeps {
  config: AppConfig;
  connection: RedisConnection;
  records: OrderRecords;
  metrics: Metrics;
  logger: Logger;
  /** Tests may pass their own; normally the shared Redis-backed token source of the Twin24 sender. */
  tokens?: Twin24TokenSource;
  autorun?: boolean;
  tracing?: Tracing;
}

export interface CorrelatorWorker {
  worker: Worker;
  queue: Queue;
  /** Runs one tick now, under the same lock and pause as a scheduled one. */
  tickNow(): Promise<TickSummary | 'skipped'>;
  close(timeoutMs?: number): Promise<void>;
}

/** Upserts the tick scheduler on the correlate queue (idempotent; safe from many processes at once). */
export async function upsertCorrelateScheduler(queue: Queue, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(CORRELATE_SCHEDULER_ID, { every: everyMs }, {
    name: JOB_NAMES.correlateTick,
    data: {},
    // Ticks are cheap and repeat anyway: no retries, and only a short history on the dashboard.
    opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
  });
}

/**
 * The correlator process: a BullMQ job scheduler makes one tick job per TWIN24_POLL_EVERY on its own queue, and
 * whichever replica takes it runs the tick. A Redis lock keeps ticks from overlapping when one runs longer than
 * the interval; a 429 from the analyse API pauses the ticks for its Retry-After.
 */
export async function createCorrelatorWorker(deps: CorrelatorWorkerDeps): Promise<CorrelatorWorker> {
  const { config, connection, records } = deps;
  const tracing = deps.tracing ?? NO_TRACING;
  const metrics = withVendorCallSpans(deps.metrics, tracing);
  const twin24: Twin24Config | undefined = config.vendors.twin24;
  if (!twin24) throw new Error('twin24-correlator needs Twin24 credentials (TWIN24_TOKEN or TWIN24_EMAIL+TWIN24_PASSWORD, TWIN24_BOT_ID, TWIN24_CHAT_ID)');
  const logger = deps.logger.child({ worker: 'twin24-correlator' });
  // Token, pending set and tick state live beside Twin24's delivery queue: its adapter writes the same keys.
  const prefix = config.keys.beside(vendorGroup(VENDOR));
  const http = createVendorHttp({ deadlineMs: config.delivery.vendorTimeoutMs, maxResponseBytes: config.delivery.maxResponseBytes });
  const tokens = deps.tokens ?? createTwin24Auth({ config: twin24, redis: connection, prefix, http, logger, metrics });
  const client = new AnalyseClient({ analyseUrl: twin24.analyseUrl, http, tokens, metrics, pageSize: twin24.statsPageSize, sessionFields: twin24.sessionFields });
  const lookupMemory = {};
  const pending = new PendingMessages(connection, prefix);
  const pauseKey = `${prefix}:twin24:correlate:paused`;
  // Long enough for a big backlog; if a tick outlives it, an overlapping tick only repeats idempotent writes.
  const lock = new RedisLock(connection, `${prefix}:twin24:correlate:lock`, Math.max(5 * 60_000, 4 * twin24.pollEveryMs));

  async function tickNow(job?: Pick<Job, 'attemptsMade' | 'opts'>): Promise<TickSummary | 'skipped'> {
    if (await connection.exists(pauseKey)) {
      logger.debug('analyse API asked us to slow down; tick skipped');
      return 'skipped';
    }
    const held = await lock.hold(async () => {
      try {
        return await runCorrelationTick({ settings: twin24!, pending, records, client, logger, metrics, tracing, lookupMemory });
      } catch (e) {
        // Pending messages are untouched by a failure; the job fails with the reason and the next tick resumes.
        // A rate limit pauses the ticks (not the queue: the scheduler adds the next tick by itself).
        throw (await mapFailure(asVendorError(e, VENDOR), {
          job: job ?? { attemptsMade: 0, opts: {} },
          defaultPauseMs: config.delivery.defaultRateLimitPauseMs,
          async pause(ms) {
            await connection.set(pauseKey, '1', 'PX', ms);
            metrics.rateLimited.inc({ vendor: VENDOR });
            return 'fail';
          },
        })).thrown;
      } finally {
        // Whether the tick succeeded or not: the pending set stays bounded while the statistics API is away.
        await sweepPendingByAge({ settings: twin24!, pending, records, logger, metrics }, twin24!.correlateWindowMs)
          .catch((e: unknown) => logger.warn({ err: String(e) }, 'pending age sweep failed; the next tick tries again'));
      }
    });
    if (!held) logger.debug('another tick is still running; skipped');
    return held ? held.value : 'skipped';
  }

  const queue = openQueue(QUEUES.correlate, { connection, ...queueAt(config.keys, QUEUES.correlate), telemetry: tracing.telemetry }, logger);
  await upsertCorrelateScheduler(queue, twin24.pollEveryMs);
  const worker = openWorker(QUEUES.correlate, async (job) => {
    // A tick takes no input: anything else in this queue was put there by hand or by mistake.
    const data: unknown = job.data;
    const empty = typeof data === 'object' && data !== null && !Array.isArray(data) && Object.keys(data).length === 0;
    if (job.name !== JOB_NAMES.correlateTick || !empty) {
      throw invalidJob(job, `a correlation tick is named "${JOB_NAMES.correlateTick}" and carries no data`);
    }
    return tickNow(job);
  }, {
    connection, ...workerAt(config.keys, QUEUES.correlate), concurrency: 1, autorun: deps.autorun ?? true, telemetry: tracing.telemetry, ...lockOptions(config),
  }, logger);

  return {
    worker,
    queue,
    tickNow,
    async close(timeoutMs = config.shutdownTimeoutMs) {
      // The scheduler stays: it belongs to the deployment, not to this replica.
      await closeWorker(worker, timeoutMs, logger);
      await queue.close();
    },
  };
}
