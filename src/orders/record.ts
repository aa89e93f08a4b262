import type { RedisConnection } from '../queues/connection.js';
import { encodeIdPart } from '../queues/job-ids.js';
import { appendHistory } from './history.js';
import { summariseChains, type ChainSummary } from './chain-view.js';

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

/** Receives every change (the hand-back to the monolith hangs here). */
export type RecordListener = (change: { orderId: string; delivery: DeliveryRecord }) => Promise<void>;

const SEP = '|';

/** KEYS[1] order hash; ARGV: status field, new status JSON ('' = none), new status rank, retention ms,
 *  order-id field, order-id JSON, then field/value pairs. Returns 0 when a higher-ranked status kept its place
 *  (the other attributes are still written: a late "sent" brings the vendor id to an already correlated delivery). */
const UPDATE_DELIVERY = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
local ranks = { ${DELIVERY_STATUSES.map((s) => `['"${s}"']=${STATUS_RANK[s]}`).join(', ')} }
local applied = 1
if ARGV[2] ~= '' and current and ranks[current] and ranks[current] > tonumber(ARGV[3]) then applied = 0 end
if applied == 1 and ARGV[2] ~= '' then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
for i = 7, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('HSETNX', KEYS[1], ARGV[5], ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return applied
`;

/** HSETNX of field/value pairs and the retention, in one round trip; answers 1/0 per field. */
const SET_MISSING_FIELDS = `
local out = {}
for i = 2, #ARGV, 2 do out[#out + 1] = redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return out
`;

type ScriptedRedis = RedisConnection & {
  orderNotifyUpdateDelivery(key: string, ...args: string[]): Promise<number>;
  orderNotifySetMissing(key: string, retentionMs: string, ...fieldValues: string[]): Promise<number[]>;
};

/**
 * Per-order record in one Redis hash per order: field `<deliveryId>|<attribute>` → JSON value. An update is a
 * single HSET of the changed attributes (atomic, no read-modify-write), and the whole hash expires after the
 * retention.
 */
export class OrderRecords {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly retentionMs: number,
    private readonly listeners: RecordListener[] = [],
  ) {
    if (!('orderNotifyUpdateDelivery' in redis)) redis.defineCommand('orderNotifyUpdateDelivery', { numberOfKeys: 1, lua: UPDATE_DELIVERY });
    if (!('orderNotifySetMissing' in redis)) redis.defineCommand('orderNotifySetMissing', { numberOfKeys: 1, lua: SET_MISSING_FIELDS });
  }

  key(orderId: string): string {
    return `${this.prefix}:order:${encodeIdPart(orderId)}`;
  }

  onChange(listener: RecordListener): void {
    this.listeners.push(listener);
  }

  async markReceived(orderId: string, at = new Date()): Promise<void> {
    const key = this.key(orderId);
    await (this.redis as ScriptedRedis).orderNotifySetMissing(key, String(this.retentionMs),
      `_order${SEP}receivedAt`, JSON.stringify(at.toISOString()), `_order${SEP}orderId`, JSON.stringify(orderId));
  }

  /**
   * First write of a delivery by the fan-out: only fields not yet set are written, so a retried fan-out never
   * turns a delivery that was already sent back into "queued".
   */
  async initDelivery(orderId: string, deliveryId: string, patch: DeliveryPatch, at = new Date()): Promise<void> {
    const key = this.key(orderId);
    const full = { ...patch, updatedAt: at.toISOString() };
    const written = Object.entries(full).filter(([, value]) => value !== undefined);
    const replies = await (this.redis as ScriptedRedis).orderNotifySetMissing(key, String(this.retentionMs),
      ...written.flatMap(([attr, value]) => [`${deliveryId}${SEP}${attr}`, JSON.stringify(value)]));
    // Listeners hear the first status only (a retried fan-out sets nothing new and stays quiet).
    const statusAt = written.findIndex(([attr]) => attr === 'status');
    if (statusAt >= 0 && replies[statusAt] === 1) {
      const delivery = { deliveryId, ...full } as DeliveryRecord;
      await appendHistory(this.redis, this.prefix, this.retentionMs, orderId, delivery);
      for (const listener of this.listeners) await listener({ orderId, delivery });
    }
  }

  /**
   * Writes the changed attributes of one delivery and tells the listeners. A status never replaces a higher-ranked
   * one (STATUS_RANK): a late or re-run "sent" must not undo what the correlator concluded, a late "retrying" from
   * a stalled run must not undo "sent". The check and the write are one script, so concurrent writers cannot interleave.
   */
  async update(orderId: string, deliveryId: string, patch: DeliveryPatch, at = new Date()): Promise<DeliveryRecord> {
    const full = { ...patch, updatedAt: at.toISOString() };
    const { status, ...rest } = full;
    const fields: string[] = [];
    for (const [attr, value] of Object.entries(rest)) {
      if (value !== undefined) fields.push(`${deliveryId}${SEP}${attr}`, JSON.stringify(value));
    }
    const applied = await (this.redis as ScriptedRedis).orderNotifyUpdateDelivery(
      this.key(orderId), `${deliveryId}${SEP}status`, status === undefined ? '' : JSON.stringify(status),
      String(status === undefined ? 0 : STATUS_RANK[status]), String(this.retentionMs),
      `_order${SEP}orderId`, JSON.stringify(orderId), ...fields,
    );
    const delivery = { deliveryId, ...full } as DeliveryRecord;
    // Listeners get what changed plus identity; callers pass every attribute the monolith needs for this change.
    if (Number(applied) === 1) {
      // Status history for the timeline page (bounded; see orders/history.ts).
      if (status !== undefined) await appendHistory(this.redis, this.prefix, this.retentionMs, orderId, delivery);
      for (const listener of this.listeners) await listener({ orderId, delivery });
    }
    return delivery;
  }

  async getDelivery(orderId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    const order = await this.get(orderId);
    return order?.deliveries.find((d) => d.deliveryId === deliveryId);
  }

  async get(orderId: string): Promise<OrderRecord | undefined> {
    const hash = await this.redis.hgetall(this.key(orderId));
    if (!hash || Object.keys(hash).length === 0) return undefined;
    const order: OrderRecord = { orderId, deliveries: [] };
    const byId = new Map<string, Record<string, unknown>>();
    for (const [field, raw] of Object.entries(hash)) {
      const cut = field.lastIndexOf(SEP);
      const id = field.slice(0, cut);
      const attr = field.slice(cut + 1);
      const value: unknown = JSON.parse(raw);
      if (id === '_order') {
        if (attr === 'receivedAt') order.receivedAt = value as string;
        continue;
      }
      const d = byId.get(id) ?? { deliveryId: id };
      d[attr] = value;
      byId.set(id, d);
    }
    order.deliveries = [...byId.values()].map((d) => d as unknown as DeliveryRecord)
      .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.deliveryId.localeCompare(b.deliveryId));
    const chains = summariseChains(order.deliveries);
    if (chains.length) order.chains = chains;
    return order;
  }
}
