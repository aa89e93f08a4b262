import type { DeliveryStatus } from '../../../orders/record.js';

/**
 * What a Twin24 message status means for the delivery record. Twin24 publishes no list of statuses: the seed shows
 * DELIVERED and PENDING, docs/vendors/twin24.md lists the others seen. A status that implies delivery (DELIVERED, READ, or any
 * unknown status that comes with a providerMessageId, i.e. a chat session exists) starts the session lookup; an
 * unknown status without one is kept as `vendorStatus` and the message stays pending (until it times out).
 */
const FINAL_FAILURES: Record<string, DeliveryStatus> = {
  UNDELIVERED: 'undelivered',
  ERROR: 'error',
  EXPIRED: 'expired',
};
/** Statuses before delivery: even with a providerMessageId (some servers fill it early) nothing is started yet. */
const NOT_YET = new Set(['CREATED', 'PENDING', 'DELAYED', 'PAUSED']);
const DELIVERED = new Set(['DELIVERED', 'READ', 'SEEN']);

export type StatusMeaning =
  /** Delivered: a chat session started; the bot's result is what we still wait for. */
  | { kind: 'delivered' }
  /** Final without a session: the record takes this status and the message leaves the pending set. */
  | { kind: 'final'; status: DeliveryStatus }
  /** CREATED, PENDING, DELAYED, PAUSED or an unknown status without a session: keep polling. */
  | { kind: 'waiting' };

export function statusMeaning(vendorStatus: string, providerMessageId?: string | null): StatusMeaning {
  const upper = vendorStatus.toUpperCase();
  if (DELIVERED.has(upper)) return { kind: 'delivered' };
  const final = FINAL_FAILURES[upper];
  if (final) return { kind: 'final', status: final };
  if (!NOT_YET.has(upper) && providerMessageId) return { kind: 'delivered' };
  return { kind: 'waiting' };
}

/** The key every result of the seed carries before and after the bot wrote anything: never an answer by itself. */
export const IGNORED_RESULT_KEYS = new Set(['initialVariables']);

function hasValue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.trim() !== '';
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/**
 * Whether the session's `dialogResultsFromBotJson` holds the bot's answer. With `resultKeys` (TWIN24_RESULT_KEYS):
 * one of those keys has a non-empty value. Without: any key other than `initialVariables` has one (the seed's
 * results always hold `"initialVariables": []`, so "a non-empty object" would fire before the bot answered).
 */
export function isResultPresent(result: unknown, resultKeys: readonly string[] = []): result is Record<string, unknown> {
  if (typeof result !== 'object' || result === null || Array.isArray(result)) return false;
  const entries = Object.entries(result);
  if (resultKeys.length) return resultKeys.some((k) => hasValue((result as Record<string, unknown>)[k]));
  return entries.some(([k, v]) => !IGNORED_RESULT_KEYS.has(k) && hasValue(v));
}
