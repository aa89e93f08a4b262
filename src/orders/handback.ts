import type { Queue } from 'bullmq';
import { z } from 'zod';
import type { AppConfig } from '../config/env.js';
import type { RedisConnection } from '../queues/connection.js';
import type { Logger } from '../runtime/logger.js';
import { QUEUES, recordGroups } from '../queues/names.js';
import { VENDORS } from '../vendors/registry.js';
import { queueAt, retention } from '../queues/options.js';
import { DELIVERY_STATUSES, FINAL_STATUSES, notificationId, type DeliveryRecord, OrderRecords, type RecordListener } from './record.js';
import { HandbackRelay, NOTIFICATIONS_TYPE } from './handback-relay.js';
import { openQueue } from '../queues/open-queue.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * The hand-back to the monolith: every status change of every delivery becomes one `order.notification` payload,
 * delivered in `order.notifications` jobs of up to RESULTS_BATCH_MAX payloads in the `results` queue (any BullMQ
 * client consumes it; RESULTS_BATCH_MAX=1 gives one `order.notification` job per change) and, when
 * RESULTS_WEBHOOK_URL is set, one signed webhook POST per change. The record script writes each change to an outbox
 * in the same call as the record (handback-relay.ts moves them into jobs). The payload is versioned; fields are only
 * ever added within a version.
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

export { notificationId };

/** An `order.notifications` job: the status changes of one hand-back batch, in the order they were recorded. */
export const notificationBatchSchema = z.object({
  version: z.literal(NOTIFICATION_VERSION),
  type: z.literal(NOTIFICATIONS_TYPE),
  notifications: z.array(orderNotificationSchema),
});

/** The notifications a results or webhook job carries: a batch, or one (RESULTS_BATCH_MAX=1, jobs from before batching). */
export function notificationsOf(data: unknown): OrderNotification[] {
  const batch = data && typeof data === 'object' && (data as { type?: unknown }).type === NOTIFICATIONS_TYPE;
  return batch ? notificationBatchSchema.parse(data).notifications : [orderNotificationSchema.parse(data)];
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
  /** Attach to OrderRecords (records.onChange(handback.listener)): relays what the record script queued, and
   *  appends what it left to the listener (chain members, whose notification carries the chain's decision). */
  listener: RecordListener;
  /** Whether anything is handed back at all (results queue or webhook); the records build notifications only then. */
  enabled: boolean;
  relay?: HandbackRelay;
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

/** Whether status changes are handed back at all (the results queue is on, or a webhook is set). */
export function handbackEnabled(config: Pick<AppConfig, 'results'>): boolean {
  return config.results.queueEnabled || Boolean(config.results.webhookUrl);
}

/** The records every worker writes: keys from the layout, and notifications written with them when handed back. */
export function recordsFor(config: AppConfig, connection: RedisConnection): OrderRecords {
  return new OrderRecords(connection, config.keys, config.orderRetentionMs, [], {
    partitions: config.partitions, ...(handbackEnabled(config) ? { notification: toNotification } : {}),
  });
}

export function createResultsHandback(opts: {
  config: AppConfig; connection: RedisConnection; logger: Logger; metrics?: Pick<Metrics, 'resultsTrimmed'>;
  /** The records whose changes are handed back (their outboxes are relayed). */
  records: OrderRecords;
  /** Key groups records are written in (default: the orders queue and every vendor's delivery queues / partitions). */
  groups?: readonly string[];
  /** Relay sweep period (tests shorten it). */
  sweepEveryMs?: number;
}): ResultsHandback {
  const { config, connection, logger, records } = opts;
  const resultsQueue = config.results.queueEnabled
    ? openQueue(QUEUES.results, { connection, ...queueAt(config.keys, QUEUES.results), defaultJobOptions: resultsJobOptions(config) }, logger)
    : undefined;
  const webhookQueue = config.results.webhookUrl
    ? openQueue(QUEUES.webhook, { connection, ...queueAt(config.keys, QUEUES.webhook), defaultJobOptions: { attempts: config.delivery.attempts, ...retention(config) } }, logger)
    : undefined;
  let lastTrimCheck = 0;

  /**
   * Producer-side trimming: nobody may be consuming the results queue. At most once a second the relay looks at the
   * waiting count and removes the oldest waiting jobs above RESULTS_QUEUE_MAX changes, i.e. RESULTS_QUEUE_MAX /
   * RESULTS_BATCH_MAX jobs (counted in order_notify_results_trimmed_total). The order record keeps every status anyway.
   */
  async function trim(queue: Queue): Promise<void> {
    const now = Date.now();
    if (now - lastTrimCheck < TRIM_CHECK_MS) return;
    lastTrimCheck = now;
    // RESULTS_QUEUE_MAX counts status changes: a batch job holds up to RESULTS_BATCH_MAX of them.
    const maxJobs = Math.max(1, Math.ceil(config.results.queueMax / config.results.batchMax));
    const excess = (await queue.getWaitingCount()) - maxJobs;
    if (excess <= 0) return;
    const oldest = await queue.getJobs(['wait'], 0, Math.min(excess, TRIM_BATCH) - 1, true);
    let removed = 0;
    for (const job of oldest) removed += await queue.remove(job.id!).catch(() => 0);
    opts.metrics?.resultsTrimmed.inc(removed);
    logger.warn({ removed, maxJobs, max: config.results.queueMax }, 'results queue over RESULTS_QUEUE_MAX; oldest waiting results removed (is the monolith consuming them?)');
  }

  const enabled = Boolean(resultsQueue || webhookQueue);
  const relay = enabled ? new HandbackRelay({
    connection, prefixes: (opts.groups ?? recordGroups(VENDORS, config.partitions)).map((g) => config.keys.beside(g)), resultsQueue, webhookQueue, batchMax: config.results.batchMax,
    logger: logger.child({ component: 'results-handback' }), sweepEveryMs: opts.sweepEveryMs,
    afterAdd: () => (resultsQueue ? trim(resultsQueue).catch((e: unknown) => logger.warn({ err: String(e) }, 'results queue trim failed')) : Promise.resolve()),
  }).start() : undefined;

  const listener: RecordListener = async ({ orderId, delivery, queued }) => {
    // Only changes that carry a status are events (a write of other attributes alone is not).
    if (!relay || delivery.status === undefined) return;
    if (!queued) await records.appendNotification(orderId, delivery, toNotification(orderId, delivery));
    relay.poke(config.keys.beside(records.groupOf(delivery.vendor, delivery.deliveryId)));
  };

  return {
    listener,
    enabled,
    relay,
    resultsQueue,
    webhookQueue,
    async close() {
      await relay?.close();
      await resultsQueue?.close();
      await webhookQueue?.close();
    },
  };
}
