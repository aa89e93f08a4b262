import { encodeIdPart } from '../queues/job-ids.js';
import type { ChainSummary } from './chain-view.js';

/**
 * Lifecycle of one delivery, as the monolith sees it:
 * queued → (retrying →) sent → for Twin24: correlated | undelivered | error | expired | timed_out
 * and the dead ends: skipped (rule did not apply), rejected (message broke a vendor limit), failed (vendor refused
 * or retries ran out). `unknown`: an attempt's outcome is unknown and the route says hold; an operator releases it
 * (→ retrying → sent) or drops it (→ dropped). scheduled: held by quiet hours until `scheduledFor`; cancelled: a
 * fallback not sent because an earlier link of its chain reached the customer.
 */
export const DELIVERY_STATUSES = [
  'queued', 'skipped', 'rejected', 'retrying', 'sent', 'failed',
  'correlated', 'undelivered', 'error', 'expired', 'timed_out', 'unknown', 'dropped', 'scheduled', 'cancelled',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['skipped', 'rejected', 'failed', 'correlated', 'undelivered', 'error', 'expired', 'timed_out', 'dropped', 'cancelled']);

/**
 * Order of the non-final statuses: a write never moves a delivery back (a late "retrying" from a stalled run must
 * not replace "sent"). Equal ranks replace each other (an operator's release turns "unknown" into "retrying").
 * Final statuses rank above all and replace each other (the correlator refines "sent" into its conclusion).
 */
export const STATUS_RANK: Readonly<Record<DeliveryStatus, number>> = Object.fromEntries(
  DELIVERY_STATUSES.map((s) => [s, FINAL_STATUSES.has(s) ? 3 : s === 'sent' ? 2 : s === 'queued' ? 0 : 1]),
) as Record<DeliveryStatus, number>;

/** Where a delivery stands in a fallback chain (written when the link is planned or fired; never changes). */
export interface ChainPosition {
  /** The rule that starts the chain. */
  head: string;
  /** 0 = the head, 1 = its fallback, … */
  link: number;
  /** Why this link was sent (links after the head), e.g. "whatsapp-confirmation: undelivered". */
  firedBecause?: string;
  /** The rule planned after this one, if this one ends without reaching the customer. */
  next?: string;
}

export interface DeliveryRecord {
  deliveryId: string;
  vendor: string;
  ruleId: string;
  status: DeliveryStatus;
  /** The vendor's own status when it reports one (Twin24: CREATED, PENDING, DELIVERED, …; unknown values kept). */
  vendorStatus?: string;
  vendorMessageId?: string;
  /** Twin24 chat session the message started (statistics `providerMessageId`). */
  chatId?: string;
  /** The bot's dialog result (Twin24 `dialogResultsFromBotJson`). */
  result?: unknown;
  reason?: string;
  attempts?: number;
  createdAt?: string;
  sentAt?: string;
  finalAt?: string;
  /** Quiet hours: when a held delivery goes out (status scheduled). */
  scheduledFor?: string;
  chain?: ChainPosition;
  /** This link ended without reaching the customer and fired that rule. */
  fallbackTo?: string;
  /** This link of a chain is the one that reached the customer. */
  reachedCustomer?: boolean;
  /** Reported delivered after the next link of its chain had been fired. */
  lateDelivery?: boolean;
  updatedAt: string;
}

export interface OrderRecord {
  orderId: string;
  receivedAt?: string;
  deliveries: DeliveryRecord[];
  /** One entry per fallback chain of the order: which link was tried, why the next fired, which one reached. */
  chains?: ChainSummary[];
}

export type DeliveryPatch = Partial<Omit<DeliveryRecord, 'deliveryId' | 'updatedAt'>> & Pick<DeliveryRecord, 'vendor' | 'ruleId'>;

/**
 * One status change, as the listeners hear it. `chainMember`: the delivery is a link of a fallback chain (the chain
 * listener decides on it); `queued`: its notification is already in the hand-back outbox (written by the same
 * script as the record); otherwise the hand-back listener appends it with `appendNotification`.
 */
export interface RecordChange { orderId: string; delivery: DeliveryRecord; chainMember?: boolean; queued?: boolean }
/** Receives every change (the hand-back to the monolith and the fallback chains hang here). */
export type RecordListener = (change: RecordChange) => Promise<void>;

/**
 * One id per distinct change: delivery + status (+ vendor status, + attempt for retries). The history and the
 * hand-back take each id once, so a re-run (a crashed worker, a repeated tick) never notifies twice.
 */
export function notificationId(orderId: string, d: Pick<DeliveryRecord, 'deliveryId' | 'status' | 'vendorStatus' | 'attempts'>): string {
  return ['n', encodeIdPart(orderId), encodeIdPart(d.deliveryId), eventKey(d)].join('.');
}

/** The part of the event id that tells one change of a delivery from another (what the record keeps as "last"). */
export function eventKey(d: Pick<DeliveryRecord, 'status' | 'vendorStatus' | 'attempts'>): string {
  const parts: string[] = [d.status];
  if (d.vendorStatus) parts.push(encodeIdPart(d.vendorStatus));
  if (d.status === 'retrying' && d.attempts !== undefined) parts.push(`a${d.attempts}`);
  return parts.join('.');
}
