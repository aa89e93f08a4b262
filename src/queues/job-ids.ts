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

/** The order job id is fresh per call: a different returned id tells the caller the event was a duplicate. */
export function proposeOrderJobId(orderId: string): string {
  return `paid.${encodeIdPart(orderId)}.${randomUUID().slice(0, 8)}`;
}

/** Deduplication key of an order; deduplication outlives the job itself for the idempotency window. */
export function orderDedupId(orderId: string): string {
  return `order.${encodeIdPart(orderId)}`;
}
