import { randomUUID } from 'node:crypto';
import { DelayedError, RateLimitError, UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import type { Logger } from '../runtime/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { OrderRecords, RecordChange } from '../orders/record.js';
import type { RedisConnection } from '../queues/connection.js';
import { deliveryQueueNames, deliveryQueueOf, vendorGroup } from '../queues/names.js';
import { deliveryJobOptions, queueAt, retryingWorkerOptions, workerAt } from '../queues/options.js';
import type { VendorDefinition } from '../vendors/types.js';
import { closeWorker } from '../runtime/close-worker.js';
import { Batcher } from './batcher.js';
import { AuthExpiredVendorError, isVendorError, type VendorError } from './errors.js';
import { asVendorError, isLastAttempt, mapFailure } from './outcome.js';
import { parseDeliveryJob } from './job-data.js';
import { HeldDeliveries } from './held.js';
import { DeliveryLedger } from './ledger.js';
import { STALLED_OUT_REASON, watchStalledOut } from './stalled.js';
import { unknownOutcomes } from './unknown-outcome.js';
import { UnrecordedAcks } from './unrecorded.js';
import { VendorRateLimiter } from './rate-limiter.js';
import type { Delivery, SendOutcome, VendorAdapter } from './types.js';
import { holdJob, type SendGate } from './send-gate.js';
import { openQueue, openWorker } from '../queues/open-queue.js';
import { NO_TRACING, type TraceSpan, type Tracing } from '../observability/tracing.js';
import { logPause } from './pause-log.js';

export interface DeliveryWorkerDeps {
  /** The vendor's definition (name, payload schema, config slice): given by the composition root, never looked up here. */
  definition: VendorDefinition<unknown>;
  /** The vendor's adapter, built by the composition root (app/delivery-worker.ts) or a test. */
  adapter: VendorAdapter<unknown>;
  config: AppConfig;
  connection: RedisConnection;
  records: OrderRecords;
  metrics: Metrics;
  logger: Logger;
  autorun?: boolean;
  tracing?: Tracing;
  /** Asked right before sending: quiet hours may hold a delivery, a fallback chain may cancel one. */
  gate?: SendGate;
}

export { STALLED_OUT_REASON };

/** A vendor answered (it has a status): the outcome of the request is known, whatever the answer said. */
function answered(e: unknown): boolean {
  return isVendorError(e) && e.status !== undefined;
}

export interface DeliveryWorker {
  /** The first (or only) partition's worker and queue. */
  worker: Worker;
  /** One worker per delivery queue partition (QUEUE_PARTITIONS; one without), sharing adapter, batcher and limiter. */
  workers: Worker[];
  /** Vendor requests sent whose answer has not arrived yet (deliveries). */
  readonly onTheWire: number;
  queue: Queue;
  queues: Queue[];
  adapter: VendorAdapter<unknown>;
  close(timeoutMs?: number): Promise<void>;
}

/**
 * The one delivery worker every vendor runs. Per job: validate → double-send guard → batch with compatible
 * deliveries → shared rate limiter → vendor call (refreshing auth once if it expired) → ledger → record.
 * Vendor failures arrive as the shared taxonomy and are mapped onto BullMQ here, and only here.
 */
export function createDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const { config, connection, records, metrics, adapter, definition: def } = deps;
  const vendor = def.name;
  const vendorConfig = def.configFrom(config.vendors);
  const logger = deps.logger.child({ vendor });
  const queueNames = deliveryQueueNames(vendor, config.partitions[vendor]);
  const tracing = deps.tracing ?? NO_TRACING;
  const telemetry = tracing.telemetry;
  const queues = queueNames.map((name) => openQueue(name, { connection, ...queueAt(config.keys, name), defaultJobOptions: deliveryJobOptions(config), telemetry }, logger));
  const queue = queues[0]!;
  // The vendor's own keys (limiter, pause log, held list) live beside its delivery queue.
  const beside = config.keys.beside(vendorGroup(vendor));
  const rateLimit = vendorConfig?.rateLimit ?? { max: 10, durationMs: 1_000 };
  const limiter = new VendorRateLimiter(connection, beside, vendor, rateLimit);
  // Ledger entries and attempt markers live beside the delivery's queue (partition): one slot with its record.
  const ledgerPrefix = (deliveryId: string) => config.keys.beside(deliveryQueueOf(vendor, deliveryId, config.partitions[vendor] ?? 1));
  const ledger = new DeliveryLedger(connection, ledgerPrefix, Math.max(config.idempotencyWindowMs, config.jobs.keepFailedMs));
  const unknown = unknownOutcomes({ vendor, def, config, queue, ledger, held: new HeldDeliveries(connection, beside), records, metrics, logger });
  /** Acknowledged deliveries whose ledger write ran past LEDGER_WRITE_RETRY: written as soon as Redis takes writes. */
  const unrecorded = new UnrecordedAcks(ledger, ({ delivery, entry }) => records.update(delivery.orderId, delivery.deliveryId, {
    vendor, ruleId: delivery.ruleId, status: 'sent', vendorMessageId: entry.vendorMessageId, sentAt: entry.acknowledgedAt,
    reason: 'sent; recorded late (Redis refused writes after the acknowledgement)',
  }).then(() => undefined), logger);
  let onTheWire = 0;
  /** Deliveries whose ledger entry and "sent" record were written with the acknowledgement: the change to tell, if any. */
  const recordedWithAck = new Map<string, RecordChange | undefined>();

  let refreshing: Promise<void> | undefined;
  const refreshAuth = () => (refreshing ??= adapter.refreshAuth!().finally(() => { refreshing = undefined; }));

  /**
   * One vendor request: auth retry, metrics, and the ledger written the moment the vendor acknowledged. Its span
   * sits in the trace of the delivery that opened the batch and links to every delivery it carries.
   */
  function request(batch: Array<Delivery<unknown>>): Promise<SendOutcome[]> {
    return tracing.span(`${vendor} request`, {
      attributes: { 'order_notify.vendor': vendor, 'order_notify.batch.size': batch.length }, links: batch.map((d) => d.trace),
    }, () => sendRequest(batch));
  }

  async function sendRequest(batch: Array<Delivery<unknown>>): Promise<SendOutcome[]> {
    metrics.recipientsPerRequest.observe({ vendor }, batch.length);
    const ids = batch.map((d) => d.deliveryId);
    // Before anything leaves: if this write fails, nothing is sent; if we die before the answer, a re-run knows.
    const mark = () => ledger.markAttempt(ids, { requestId: randomUUID(), at: new Date().toISOString(), recipients: batch.length });
    await mark();
    onTheWire += batch.length;
    let outcomes: SendOutcome[];
    try {
      try {
        outcomes = await adapter.send(batch);
      } catch (e) {
        if (!(e instanceof AuthExpiredVendorError) || !adapter.refreshAuth) throw e;
        logger.info({ code: e.code }, 'vendor credentials expired; refreshing and retrying once');
        await ledger.clearAttempts(ids); // refused: known not sent while we refresh
        await refreshAuth();
        await mark();
        outcomes = await adapter.send(batch);
      }
    } catch (e) {
      if (isVendorError(e) && e.kind === 'rate_limited') metrics.rateLimited.inc({ vendor });
      // The vendor said no: the outcome is known. No answer at all (deadline, reset): the marker stays.
      if (answered(e)) await ledger.clearAttempts(ids).catch(() => undefined);
      throw e;
    } finally {
      onTheWire -= batch.length;
    }
    const acknowledgedAt = new Date().toISOString();
    const entries = batch.flatMap((d, i) => {
      const o = outcomes[i];
      return o?.ok ? [{ delivery: d, deliveryId: d.deliveryId, entry: { vendorMessageId: o.vendorMessageId, acknowledgedAt, details: o.details } }] : [];
    });
    await ledger.clearAttempts(batch.filter((_, i) => { const o = outcomes[i]; return o && !o.ok && answered(o.error); }).map((d) => d.deliveryId))
      .catch(() => undefined);
    // After an ack the vendor is never asked again: a failed write is retried here, not treated as a vendor failure.
    // The ledger entries and the "sent" records are one script call (they live beside the delivery's queue).
    let warned = false;
    const written = await ledger.writeWithRetry(async () => {
      const changes = await records.acknowledge(entries.map(({ delivery: d, entry }) => ({
        orderId: d.orderId, deliveryId: d.deliveryId, ledger: { ...ledger.keysOf(d.deliveryId), value: JSON.stringify(entry) },
        patch: { vendor, ruleId: d.ruleId, status: 'sent' as const, vendorMessageId: entry.vendorMessageId, sentAt: entry.acknowledgedAt, attempts: d.attempt },
      })), ledger.entryTtlMs);
      for (const { delivery: d } of entries) recordedWithAck.set(d.deliveryId, changes.find((c) => c.delivery.deliveryId === d.deliveryId));
    }, config.delivery.ledgerWriteRetryMs, (e) => {
      if (!warned) logger.warn({ err: e instanceof Error ? e.message : String(e), recipients: entries.length }, 'ledger write after an acknowledgement failed; retrying (never resending)');
      warned = true;
    });
    if (!written) unrecorded.add(entries);
    if (batch.length > 1) logger.debug({ recipients: batch.length }, 'batched vendor request');
    return outcomes;
  }

  const batcher = new Batcher<unknown>({
    maxBatch: adapter.maxBatch,
    lingerMs: adapter.lingerMs,
    keyOf: (p) => adapter.batchKey?.(p),
    gate: () => limiter.acquire(),
    send: request,
  });

  async function acknowledged(delivery: Delivery<unknown>, job: Job, outcome: Extract<SendOutcome, { ok: true }>, sentAt: string) {
    await adapter.afterAcknowledged?.(delivery, outcome);
    await records.update(delivery.orderId, delivery.deliveryId, {
      vendor, ruleId: delivery.ruleId, status: 'sent', vendorMessageId: outcome.vendorMessageId, sentAt, attempts: job.attemptsMade + 1,
    });
  }

  async function fail(job: Job, delivery: Delivery<unknown>, error: VendorError, started: number): Promise<Error> {
    const base = { orderId: delivery.orderId, rule: delivery.ruleId, attempt: job.attemptsMade + 1, durationMs: Date.now() - started, code: error.code };
    const outcome = await mapFailure(error, {
      job,
      defaultPauseMs: config.delivery.defaultRateLimitPauseMs,
      async pause(ms) {
        await limiter.pause(ms);
        await Promise.all(queues.map((q) => q.rateLimit(ms))); // every partition: the limit is the vendor's
        await logPause(connection, beside, vendor, ms);
        logger.warn({ ...base, pauseMs: ms }, 'vendor rate limit hit; pausing this vendor');
        return 'requeue'; // back to wait; does not use up an attempt
      },
    });
    if (outcome.pauseMs !== undefined) return outcome.thrown;
    const { final } = outcome;
    await records.update(delivery.orderId, delivery.deliveryId, {
      vendor, ruleId: delivery.ruleId, status: final ? 'failed' : 'retrying', reason: error.message, attempts: job.attemptsMade + 1,
      ...(final ? { finalAt: new Date().toISOString() } : {}),
    });
    if (final) {
      metrics.deliveries.inc({ vendor, outcome: 'failed' });
      logger.error({ ...base, kind: error.kind, reason: error.message }, 'delivery failed');
    } else {
      metrics.retries.inc({ vendor });
      logger.warn({ ...base, kind: error.kind, reason: error.message }, 'delivery attempt failed; will retry');
    }
    return outcome.thrown;
  }

  type Delivered = { vendorMessageId?: string; duplicateSuppressed?: boolean; held?: boolean; cancelled?: boolean };

  function process(job: Job, token?: string): Promise<Delivered> {
    const data = job.data as Partial<Record<string, unknown>> | undefined;
    const id = (k: string) => (typeof data?.[k] === 'string' ? data[k] as string : undefined);
    return tracing.span(`deliver ${vendor}`, {
      attributes: {
        'order_notify.vendor': vendor, 'order_notify.order_id': id('orderId'), 'order_notify.delivery_id': id('deliveryId'),
        'order_notify.rule': id('ruleId'), 'order_notify.attempt': job.attemptsMade + 1,
      },
    }, async (span) => {
      try {
        const done = await deliver(job, span, token);
        span.setAttributes({ 'order_notify.outcome': done.cancelled ? 'cancelled' : done.held ? 'held' : done.duplicateSuppressed ? 'duplicate_suppressed' : 'sent', 'order_notify.vendor_message_id': done.vendorMessageId });
        return done;
      } catch (e) {
        const final = e instanceof UnrecoverableError || isLastAttempt(job);
        span.setAttributes({ 'order_notify.outcome': e instanceof DelayedError ? 'held' : e instanceof RateLimitError ? 'rate_limited' : final ? 'failed' : 'retrying' });
        throw e;
      }
    });
  }

  async function deliver(job: Job, span: TraceSpan, token?: string): Promise<Delivered> {
    const started = Date.now();
    const data = parseDeliveryJob(job, def);
    const delivery: Delivery<unknown> = {
      deliveryId: data.deliveryId, orderId: data.orderId, ruleId: data.ruleId, payload: data.payload, trace: span.carrier(), attempt: job.attemptsMade + 1,
    };
    const log = { orderId: data.orderId, rule: data.ruleId, attempt: job.attemptsMade + 1 };

    const found = await ledger.lookup(data.deliveryId);
    const already = found.entry ?? unrecorded.find(data.deliveryId);
    if (already) {
      // Sent before (a retry after a crash, a stalled re-run, a duplicate job): finish the bookkeeping, never resend.
      await acknowledged(delivery, job, { ok: true, vendorMessageId: already.vendorMessageId, details: already.details }, already.acknowledgedAt);
      metrics.deliveries.inc({ vendor, outcome: 'duplicate_suppressed' });
      logger.info({ ...log, durationMs: Date.now() - started }, 'already acknowledged by the vendor; not sent again');
      return { vendorMessageId: already.vendorMessageId, duplicateSuppressed: true };
    }
    const gated = await deps.gate?.check(data);
    if (gated?.kind === 'cancel') {
      await records.update(data.orderId, data.deliveryId, { vendor, ruleId: data.ruleId, status: 'cancelled', reason: gated.reason, finalAt: new Date().toISOString() });
      logger.info({ ...log, reason: gated.reason }, 'delivery cancelled');
      return { cancelled: true };
    }
    if (gated?.kind === 'hold') {
      await records.update(data.orderId, data.deliveryId, { vendor, ruleId: data.ruleId, status: 'scheduled', scheduledFor: gated.scheduledFor });
      logger.info({ ...log, scheduledFor: gated.scheduledFor }, 'send window closed; held until it opens');
      await holdJob(job, token, gated.delayMs);
    }
    const decision = await unknown.beforeSend(job, data, found.attempt);
    if (decision !== 'send') return decision;

    let outcome: SendOutcome;
    try {
      outcome = await batcher.submit(delivery);
    } catch (e) {
      throw await fail(job, delivery, asVendorError(e, vendor), started);
    }
    if (!outcome.ok) throw await fail(job, delivery, outcome.error, started);
    if (unrecorded.find(data.deliveryId)) {
      // Acknowledged, but Redis refused the ledger write for the whole bound: never a retryable failure (a retry would
      // send again). The entry is written from memory as soon as Redis takes writes; an alert watches the metric.
      metrics.sentNotRecorded.inc({ vendor });
      logger.error({ ...log, vendorMessageId: outcome.vendorMessageId }, 'sent, not recorded: the ledger write failed past LEDGER_WRITE_RETRY');
      throw new UnrecoverableError(`sent, not recorded: ${vendor} acknowledged it, the ledger write failed for ${config.delivery.ledgerWriteRetryMs} ms; do not resend`);
    }
    if (recordedWithAck.has(data.deliveryId)) {
      const change = recordedWithAck.get(data.deliveryId);
      recordedWithAck.delete(data.deliveryId);
      await adapter.afterAcknowledged?.(delivery, outcome);
      if (change) await records.tell(change);
    } else {
      await acknowledged(delivery, job, outcome, new Date().toISOString());
    }
    metrics.deliveries.inc({ vendor, outcome: 'sent' });
    logger.info({ ...log, durationMs: Date.now() - started, vendorMessageId: outcome.vendorMessageId }, 'delivered');
    return { vendorMessageId: outcome.vendorMessageId };
  }

  // One worker per partition in this process; DELIVERY_CONCURRENCY is shared out between them.
  const workers = queueNames.map((name) => openWorker(name, process, {
    connection,
    ...workerAt(config.keys, name),
    concurrency: Math.ceil(config.delivery.concurrency / queueNames.length),
    autorun: deps.autorun ?? true,
    telemetry,
    // Completed and failed jobs per minute, kept by BullMQ for a day: the timeline page's health strip reads them.
    metrics: { maxDataPoints: 24 * 60 },
    ...retryingWorkerOptions(config),
  }, logger));
  const worker = workers[0]!;

  // A job whose worker died more than maxStalledCount times is failed by BullMQ alone: finish its record and hand-back.
  const stalled = watchStalledOut({
    queues, connection, everyMs: config.locks.stalledIntervalMs, autorun: deps.autorun ?? true, logger, onStalledOut: unknown.stalledOut,
  });

  return {
    worker,
    workers,
    get onTheWire() { return onTheWire; },
    queue,
    queues,
    adapter,
    async close(timeoutMs = config.shutdownTimeoutMs) {
      await Promise.all(workers.map((w) => closeWorker(w, timeoutMs, logger)));
      // Requests still without an answer keep their attempt marker: the re-run treats them as unknown outcomes.
      if (onTheWire > 0) logger.warn({ deliveries: onTheWire }, 'shutting down with vendor requests on the wire; their outcome is marked unknown');
      await unrecorded.close(); // last chance for acknowledged deliveries Redis refused to record
      await stalled.close();
      await adapter.close?.();
      await Promise.all(queues.map((q) => q.close()));
    },
  };
}
