import type { DeliveryStatus } from '../orders/record.js';

/**
 * What a Twin24 message status means for the delivery record. Twin24 publishes no list of statuses, so anything
 * not named here is kept as `vendorStatus` and the message simply stays pending (until it times out).
 */
const FINAL_FAILURES: Record<string, DeliveryStatus> = {
  UNDELIVERED: 'undelivered',
  ERROR: 'error',
  EXPIRED: 'expired',
};

export type StatusMeaning =
  /** Delivered: a chat session started; the bot's result is what we still wait for. */
  | { kind: 'delivered' }
  /** Final without a session: the record takes this status and the message leaves the pending set. */
  | { kind: 'final'; status: DeliveryStatus }
  /** CREATED, PENDING, DELAYED, PAUSED or anything unknown: keep polling. */
  | { kind: 'waiting' };

export function statusMeaning(vendorStatus: string): StatusMeaning {
  const upper = vendorStatus.toUpperCase();
  if (upper === 'DELIVERED') return { kind: 'delivered' };
  const final = FINAL_FAILURES[upper];
  return final ? { kind: 'final', status: final } : { kind: 'waiting' };
}

/**
 * The bot's result counts as present once it is an object with at least one key: Twin24 answers `null` (or an
 * empty object) while the dialog has not written anything yet.
 */
export function isResultPresent(result: unknown): result is Record<string, unknown> {
  return typeof result === 'object' && result !== null && !Array.isArray(result) && Object.keys(result).length > 0;
}
