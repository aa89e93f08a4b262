/** Every queue of the project, in one place (the dashboard, metrics, KEDA and the CLI all list these). */
export const QUEUES = {
  orders: 'orders',
  correlate: 'twin24-correlate',
  results: 'results',
  webhook: 'results-webhook',
  /** Delayed "was it delivered by now?" checks of fallback chains (`after`); run by the fan-out component. */
  fallbackDeadlines: 'fallback-deadlines',
} as const;

/**
 * Each vendor has its own delivery queue and worker Deployment. Takes the vendor's name as a plain string: this
 * bottom layer knows no vendor (the producer imports it, and must not load vendor adapters or axios).
 */
export function deliveryQueueName(vendor: string): string {
  return `deliver-${vendor}`;
}

export const JOB_NAMES = {
  orderPaid: 'order.paid',
  delivery: 'delivery',
  correlateTick: 'twin24.correlate',
  orderNotification: 'order.notification',
  /** A batch of order.notification payloads (RESULTS_BATCH_MAX > 1). */
  orderNotifications: 'order.notifications',
  webhook: 'webhook.post',
  fallbackDeadline: 'fallback.deadline',
  fallbackSweep: 'fallback.sweep',
} as const;

/** Every queue, given the vendors (pass the registry's VENDORS) and their partitions (config.partitions). */
export function allQueueNames(vendors: readonly string[], partitions: Readonly<Record<string, number>> = {}): string[] {
  return [
    QUEUES.orders, ...vendors.flatMap((v) => deliveryQueueNames(v, partitions[v])),
    QUEUES.correlate, QUEUES.results, QUEUES.webhook, QUEUES.fallbackDeadlines,
  ];
}

/**
 * The group a vendor's own keys live beside (rate limiter, pause log, held deliveries, credentials, tokens, the
 * Twin24 pending set): its delivery queue's name, also when the queue is partitioned (one limiter per vendor).
 */
export function vendorGroup(vendor: string): string {
  return deliveryQueueName(vendor);
}

/**
 * A vendor's delivery queues: one, or `<queue>-<k>` for k < partitions when the vendor's volume alone exceeds one
 * Redis shard (each partition has its own hash tag in the per-queue layout; the vendor's workers consume them all).
 */
export function deliveryQueueNames(vendor: string, partitions = 1): string[] {
  const name = deliveryQueueName(vendor);
  return partitions <= 1 ? [name] : Array.from({ length: partitions }, (_, k) => `${name}-${k}`);
}

/** The partition a delivery goes to: a stable hash of its id (FNV-1a), so a retried fan-out picks the same one. */
export function partitionOf(deliveryId: string, partitions: number): number {
  if (partitions <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < deliveryId.length; i++) h = Math.imul(h ^ deliveryId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % partitions;
}

/** The delivery queue (partition) a delivery lives in. */
export function deliveryQueueOf(vendor: string, deliveryId: string, partitions = 1): string {
  return deliveryQueueNames(vendor, partitions)[partitionOf(deliveryId, partitions)]!;
}

/** Every key group an order's record has parts in: the orders queue and each delivery queue (partition). */
export function recordGroups(vendors: readonly string[], partitions: Readonly<Record<string, number>> = {}): string[] {
  return [QUEUES.orders, ...vendors.flatMap((v) => deliveryQueueNames(v, partitions[v]))];
}
