import { randomUUID } from 'node:crypto';

/**
 * BullMQ custom job ids must not contain ":" and must not look like integers; order ids come from any shop.
 * Percent-encoding keeps them readable on the dashboard and unambiguous.
 */
export function encodeIdPart(value: string): string {
  return encodeURIComponent(value).replace(/\./g, '%2E');
}

/** One delivery = one (order, rule) pair: a retried fan-out adds the same id and BullMQ keeps one job. */
export function deliveryId(orderId: string, ruleId: string): string {
  return `${ruleId}.${encodeIdPart(orderId)}`;
}

/**
 * An order's own job id: BullMQ ignores an add whose job id exists, so concurrent adds of one order make one job
 * (cheaper in Redis than BullMQ's deduplication option). The producer's idempotency keys cover the rest of the window.
 */
export function orderJobId(orderId: string): string {
  return `paid.${encodeIdPart(orderId)}`;
}

/**
 * A fresh order job id, for an order re-sent after its idempotency window while its old job is still kept (the own id
 * is taken): added with deduplication, a different returned id tells the caller the event was a duplicate.
 */
export function proposeOrderJobId(orderId: string): string {
  return `paid.${encodeIdPart(orderId)}.${randomUUID().slice(0, 8)}`;
}

/** Deduplication key of an order; deduplication outlives the job itself for the idempotency window. */
export function orderDedupId(orderId: string): string {
  return `order.${encodeIdPart(orderId)}`;
}
