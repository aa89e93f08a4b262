import type { RedisConnection } from '../queues/connection.js';
import { encodeIdPart } from '../queues/job-ids.js';

/**
 * Lifecycle of one delivery, as the monolith sees it:
 * queued → (retrying →) sent → for Twin24: correlated | undelivered | error | expired | timed_out
 * and the dead ends: skipped (rule did not apply), rejected (message broke a vendor limit), failed (vendor refused
 * or retries ran out).
 */
export const DELIVERY_STATUSES = [
  'queued', 'skipped', 'rejected', 'retrying', 'sent', 'failed',
  'correlated', 'undelivered', 'error', 'expired', 'timed_out',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
export const FINAL_STATUSES: ReadonlySet<DeliveryStatus> = new Set(['skipped', 'rejected', 'failed', 'correlated', 'undelivered', 'error', 'expired', 'timed_out']);

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
  updatedAt: string;
}

export interface OrderRecord {
  orderId: string;
  receivedAt?: string;
  deliveries: DeliveryRecord[];
}

export type DeliveryPatch = Partial<Omit<DeliveryRecord, 'deliveryId' | 'updatedAt'>> & Pick<DeliveryRecord, 'vendor' | 'ruleId'>;

/** Receives every change (the hand-back to the monolith hangs here). */
export type RecordListener = (change: { orderId: string; delivery: DeliveryRecord }) => Promise<void>;

const SEP = '|';

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
  ) {}

  key(orderId: string): string {
    return `${this.prefix}:order:${encodeIdPart(orderId)}`;
  }

  onChange(listener: RecordListener): void {
    this.listeners.push(listener);
  }

  async markReceived(orderId: string, at = new Date()): Promise<void> {
    const key = this.key(orderId);
    await this.redis.multi().hsetnx(key, `_order${SEP}receivedAt`, JSON.stringify(at.toISOString()))
      .hsetnx(key, `_order${SEP}orderId`, JSON.stringify(orderId)).pexpire(key, this.retentionMs).exec();
  }

  /**
   * First write of a delivery by the fan-out: only fields not yet set are written, so a retried fan-out never
   * turns a delivery that was already sent back into "queued".
   */
  async initDelivery(orderId: string, deliveryId: string, patch: DeliveryPatch, at = new Date()): Promise<void> {
    const key = this.key(orderId);
    const tx = this.redis.multi();
    for (const [attr, value] of Object.entries({ ...patch, updatedAt: at.toISOString() })) {
      if (value !== undefined) tx.hsetnx(key, `${deliveryId}${SEP}${attr}`, JSON.stringify(value));
    }
    await tx.pexpire(key, this.retentionMs).exec();
  }

  /** Writes the changed attributes of one delivery and tells the listeners. */
  async update(orderId: string, deliveryId: string, patch: DeliveryPatch, at = new Date()): Promise<DeliveryRecord> {
    const key = this.key(orderId);
    const fields: string[] = [];
    const full = { ...patch, updatedAt: at.toISOString() };
    for (const [attr, value] of Object.entries(full)) {
      if (value !== undefined) fields.push(`${deliveryId}${SEP}${attr}`, JSON.stringify(value));
    }
    await this.redis.multi().hset(key, ...fields).hsetnx(key, `_order${SEP}orderId`, JSON.stringify(orderId)).pexpire(key, this.retentionMs).exec();
    // Listeners get what changed plus identity; callers pass every attribute the monolith needs for this change.
    const delivery = { deliveryId, ...full } as DeliveryRecord;
    for (const listener of this.listeners) await listener({ orderId, delivery });
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
    return order;
  }
}
