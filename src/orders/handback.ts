import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { AppConfig } from '../config/env.js';
import type { RedisConnection } from '../queues/connection.js';
import type { Logger } from '../runtime/logger.js';
import { encodeIdPart } from '../queues/job-ids.js';
import { JOB_NAMES, QUEUES } from '../queues/names.js';
import { JITTERED_BACKOFF, retention } from '../queues/options.js';
import { DELIVERY_STATUSES, FINAL_STATUSES, type DeliveryRecord, type RecordListener } from './record.js';
import { openQueue } from '../queues/open-queue.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * The hand-back to the monolith: every status change of every delivery becomes one `order.notification` job in the
 * `results` queue (any BullMQ client consumes it) and, when RESULTS_WEBHOOK_URL is set, one signed webhook POST.
 * The payload is versioned; fields are only ever added within a version.
 */
export const NOTIFICATION_VERSION = 1;

export const orderNotificationSchema = z.object({
  version: z.literal(NOTIFICATION_VERSION),
  type: z.literal('order.notification'),
  /** Stable id of this change: the same change is never two events (use it to deduplicate). */
  eventId: z.string().min(1),
  orderId: z.string().min(1),
  deliveryId: z.string().min(1),
  vendor: z.string().min(1),
  ruleId: z.string().min(1),
  status: z.enum(DELIVERY_STATUSES),
  /** true when the delivery will not change any more. */
  final: z.boolean(),
  /** The vendor's own status (Twin24: CREATED, PENDING, DELIVERED, UNDELIVERED, … unknown values passed on). */
  vendorStatus: z.string().optional(),
  /** The vendor's message id (Twin24: the seed's messageId). */
  vendorMessageId: z.string().optional(),
  /** Twin24: the chat session the message started (statistics providerMessageId). */
  chatId: z.string().optional(),
  /** Twin24: the bot's dialogResultsFromBotJson. */
  result: z.unknown().optional(),
  /** Why it failed, was rejected, skipped, retried or timed out. */
  reason: z.string().optional(),
  attempts: z.number().int().optional(),
  sentAt: z.string().optional(),
  finalAt: z.string().optional(),
  /** Quiet hours: when a held delivery (status scheduled) goes out. */
  scheduledFor: z.string().optional(),
  /** The delivery is a link of a fallback chain (docs/fallbacks.md). */
  chain: z.object({
    /** The rule that starts the chain. */
    head: z.string(),
    /** 0 = the head, 1 = its fallback, … */
    link: z.number().int(),
    /** Why this link was sent. */
    firedBecause: z.string().optional(),
    /** The rule planned after this one. */
    next: z.string().optional(),
    /** This link ended without reaching the customer and fired that rule. */
    fallbackTo: z.string().optional(),
    /** This link is the one that reached the customer. */
    reachedCustomer: z.boolean().optional(),
    /** Reported delivered after its fallback had been fired. */
    lateDelivery: z.boolean().optional(),
  }).optional(),
  /** When the change was recorded (ISO 8601); order events per delivery by this. */
  at: z.string(),
});
export type OrderNotification = z.infer<typeof orderNotificationSchema>;

/**
 * One id per distinct change: delivery + status (+ vendor status, + attempt for retries). Adding a job whose id
 * exists is a no-op in BullMQ, so a re-run (a crashed worker, a repeated tick) never notifies twice.
 */
export function notificationId(orderId: string, d: Pick<DeliveryRecord, 'deliveryId' | 'status' | 'vendorStatus' | 'attempts'>): string {
  const parts = ['n', encodeIdPart(orderId), encodeIdPart(d.deliveryId), d.status];
  if (d.vendorStatus) parts.push(encodeIdPart(d.vendorStatus));
  if (d.status === 'retrying' && d.attempts !== undefined) parts.push(`a${d.attempts}`);
  return parts.join('.');
}

export function toNotification(orderId: string, d: DeliveryRecord): OrderNotification {
  return orderNotificationSchema.parse({
    version: NOTIFICATION_VERSION,
    type: 'order.notification',
    eventId: notificationId(orderId, d),
    orderId,
    deliveryId: d.deliveryId,
    vendor: d.vendor,
    ruleId: d.ruleId,
    status: d.status,
    final: FINAL_STATUSES.has(d.status),
    vendorStatus: d.vendorStatus,
    vendorMessageId: d.vendorMessageId,
    chatId: d.chatId,
    result: d.result,
    reason: d.reason,
    attempts: d.attempts,
    sentAt: d.sentAt,
    finalAt: d.finalAt,
    scheduledFor: d.scheduledFor,
    chain: d.chain ? {
      ...d.chain, fallbackTo: d.fallbackTo, reachedCustomer: d.reachedCustomer, lateDelivery: d.lateDelivery,
    } : undefined,
    at: d.updatedAt,
  });
}

export interface ResultsHandback {
  /** Attach to OrderRecords (records.onChange(handback.listener)). */
  listener: RecordListener;
  /** Absent when RESULTS_QUEUE_ENABLED=false. */
  resultsQueue?: Queue;
  webhookQueue?: Queue;
  close(): Promise<void>;
}

/** Results jobs wait for the monolith's consumer; its failed attempts are retried with backoff. */
export function resultsJobOptions(config: Pick<AppConfig, 'jobs'>) {
  return { attempts: 10, backoff: { type: 'exponential', delay: 5_000 }, ...retention(config) };
}

/** How often (at most) the producer looks at the results queue's length. */
const TRIM_CHECK_MS = 1_000;
/** Most jobs removed in one trim (one round of removals stays short). */
const TRIM_BATCH = 1_000;

export function createResultsHandback(opts: { config: AppConfig; connection: RedisConnection; logger: Logger; metrics?: Pick<Metrics, 'resultsTrimmed'> }): ResultsHandback {
  const { config, connection, logger } = opts;
  const prefix = config.queuePrefix;
  const resultsQueue = config.results.queueEnabled
    ? openQueue(QUEUES.results, { connection, prefix, defaultJobOptions: resultsJobOptions(config) }, logger)
    : undefined;
  let lastTrimCheck = 0;

  /**
   * Producer-side trimming: nobody may be consuming the results queue, and every status change adds ~1.4 KB.
   * At most once a second the producer looks at the waiting count and removes the oldest waiting jobs above
   * RESULTS_QUEUE_MAX (counted in order_notify_results_trimmed_total). The order record keeps every status anyway.
   */
  async function trim(queue: Queue): Promise<void> {
    const now = Date.now();
    if (now - lastTrimCheck < TRIM_CHECK_MS) return;
    lastTrimCheck = now;
    const excess = (await queue.getWaitingCount()) - config.results.queueMax;
    if (excess <= 0) return;
    const oldest = await queue.getJobs(['wait'], 0, Math.min(excess, TRIM_BATCH) - 1, true);
    let removed = 0;
    for (const job of oldest) removed += await queue.remove(job.id!).catch(() => 0);
    opts.metrics?.resultsTrimmed.inc(removed);
    logger.warn({ removed, max: config.results.queueMax }, 'results queue over RESULTS_QUEUE_MAX; oldest waiting results removed (is the monolith consuming them?)');
  }
  const webhookQueue = config.results.webhookUrl
    ? openQueue(QUEUES.webhook, { connection, prefix, defaultJobOptions: { attempts: config.delivery.attempts, ...retention(config) } }, logger)
    : undefined;

  const listener: RecordListener = async ({ orderId, delivery }) => {
    // Only changes that carry a status are events (a write of other attributes alone is not).
    if (delivery.status === undefined) return;
    const notification = toNotification(orderId, delivery);
    const jobId = notification.eventId;
    if (resultsQueue) {
      await resultsQueue.add(JOB_NAMES.orderNotification, notification, { jobId });
      await trim(resultsQueue).catch((e: unknown) => logger.warn({ err: String(e) }, 'results queue trim failed'));
    }
    // The webhook job carries the same payload; its worker signs and posts it (backoff type set there).
    await webhookQueue?.add(JOB_NAMES.webhook, notification, { jobId, backoff: { type: JITTERED_BACKOFF } });
  };

  return {
    listener,
    resultsQueue,
    webhookQueue,
    async close() {
      await resultsQueue?.close();
      await webhookQueue?.close();
    },
  };
}
