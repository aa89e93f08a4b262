import type { RedisConnection } from '../queues/connection.js';
import { encodeIdPart } from '../queues/job-ids.js';
import { keyspace as makeKeyspace, type Keyspace } from '../queues/keyspace.js';
import { deliveryQueueOf, QUEUES } from '../queues/names.js';
import { historyEntryOf, MAX_HISTORY_ENTRIES, parseHistory, type HistoryEntry } from './history.js';
import { summariseChains } from './chain-view.js';
import { eventKey, STATUS_RANK, type DeliveryPatch, type DeliveryRecord, type OrderRecord, type RecordChange, type RecordListener } from './delivery-record.js';
import { APPEND_NOTIFICATION, recordScript } from './record-script.js';

// The types and statuses of a record live in delivery-record.ts; importers keep using this module.
export * from './delivery-record.js';

const SEP = '|';
/** Bookkeeping fields of a delivery (`<id>|_h`, `<id>|_n`): the last event written to history / to the outbox. */
const LAST_HISTORY = '_h';
const LAST_NOTIFIED = '_n';
/** Order-level fields: `_order|receivedAt`, `_order|orderId`, and `_order|g|<group>` = where its deliveries live. */
const ORDER = '_order';

/** What the fan-out writes for one order: its deliveries' first records; `extraGroups`: groups of links fired later. */
export interface ReceivedOrder { orderId: string; at: Date; deliveries: Array<{ deliveryId: string; patch: DeliveryPatch }>; extraGroups?: readonly string[] }

export interface OrderRecordsOptions {
  /** Delivery-queue partitions per vendor (a delivery's record lives beside its partition). */
  partitions?: Readonly<Record<string, number>>;
  /** Builds the hand-back notification of a change; given, the record script writes it to the outbox itself. */
  notification?: (orderId: string, delivery: DeliveryRecord) => unknown;
}

/** One write for the record script: a delivery's fields (or the order's own, deliveryId `_order`) in one group. */
interface RawWrite { orderId: string; group: string; deliveryId: string; first?: boolean; fields: string[]; delivery?: DeliveryRecord; ledger?: LedgerWrite }

/** A delivery's ledger entry written with its record (the keys come from DeliveryLedger.keysOf). */
export interface LedgerWrite { key: string; attemptKey: string; value: string }

interface Change {
  k: number; i?: 1; f: string[]; sf: string; s?: string; r: number; of: string; ov: string; cf: string; hf: string; lf: string;
  e: string; h?: string; n?: string; lk?: number; lv?: string;
}

type ScriptedRedis = RedisConnection & {
  orderNotifyRecord(numKeys: number, ...args: string[]): Promise<Array<[number, number, number]>>;
  orderNotifyAppend(record: string, outbox: string, lastField: string, eventId: string, notification: string): Promise<number>;
};

/**
 * Per-order record: one Redis hash per order and key group, field `<deliveryId>|<attribute>` → JSON value. A
 * delivery's part lives beside its delivery queue (keyspace.ts): in the default single layout that is one hash per
 * order, as it always was; in the per-queue layout one hash per order and queue, listed by the order's own part.
 * Every change is one script (record-script.ts): rank check, fields, history, hand-back outbox.
 */
export class OrderRecords {
  private readonly keys: Keyspace;
  private readonly listeners: RecordListener[];
  private readonly opts: OrderRecordsOptions;

  constructor(
    private readonly redis: RedisConnection,
    keys: Keyspace | string,
    private readonly retentionMs: number,
    listeners: RecordListener[] = [],
    opts: OrderRecordsOptions = {},
  ) {
    this.keys = typeof keys === 'string' ? makeKeyspace(keys) : keys;
    this.listeners = [...listeners];
    this.opts = opts;
    if (!('orderNotifyRecord' in redis)) redis.defineCommand('orderNotifyRecord', { lua: recordScript(STATUS_RANK) });
    if (!('orderNotifyAppend' in redis)) redis.defineCommand('orderNotifyAppend', { numberOfKeys: 2, lua: APPEND_NOTIFICATION });
  }

  /** The key group a delivery's record lives in: its delivery queue (partition). */
  groupOf(vendor: string, deliveryId: string): string {
    return deliveryQueueOf(vendor, deliveryId, this.opts.partitions?.[vendor] ?? 1);
  }

  /** Record hash of an order in one group (default: the order's own part, beside the orders queue). */
  key(orderId: string, group: string = QUEUES.orders): string {
    return `${this.keys.beside(group)}:order:${encodeIdPart(orderId)}`;
  }

  historyKey(orderId: string, group: string = QUEUES.orders): string {
    return `${this.key(orderId, group)}:history`;
  }

  /** The hand-back outbox of a group: notifications waiting to be relayed to the results queue / webhook. */
  outboxKey(group: string): string {
    return `${this.keys.beside(group)}:handback`;
  }

  onChange(listener: RecordListener): void {
    this.listeners.push(listener);
  }

  /** The order's own part: when it arrived, and (per-queue layout) which groups hold its deliveries. */
  async markReceived(orderId: string, at = new Date(), groups: readonly string[] = []): Promise<void> {
    await this.apply([this.receivedWrite(orderId, at, groups)]);
  }

  /**
   * The fan-out's writes for one order in one call per key prefix (one in the single layout): the order's own part
   * and the first write of each delivery (`extraGroups`: groups of links that may be fired later).
   */
  async receiveOrder(orderId: string, at: Date, deliveries: Array<{ deliveryId: string; patch: DeliveryPatch }>, extraGroups: readonly string[] = []): Promise<void> {
    await this.receiveOrders([{ orderId, at, deliveries, extraGroups }]);
  }

  /** receiveOrder for several orders in one call per key prefix (the fan-out's concurrent jobs share it). */
  async receiveOrders(orders: ReadonlyArray<ReceivedOrder>): Promise<void> {
    const writes = orders.flatMap((o) => o.deliveries.map((d) => ({ orderId: o.orderId, ...d, first: true })));
    const received = orders.map((o) => this.receivedWrite(o.orderId, o.at,
      [...o.deliveries.map((d) => this.groupOf(d.patch.vendor, d.deliveryId)), ...(o.extraGroups ?? [])]));
    await this.changeAll(writes, received);
  }

  private receivedWrite(orderId: string, at: Date, groups: readonly string[]): RawWrite {
    const fields = [`${ORDER}${SEP}receivedAt`, JSON.stringify(at.toISOString())];
    if (this.keys.layout !== 'single') for (const g of new Set(groups)) fields.push(`${ORDER}${SEP}g${SEP}${g}`, '1');
    return { orderId, group: QUEUES.orders, deliveryId: ORDER, first: true, fields };
  }

  /**
   * First write of a delivery by the fan-out: only fields not yet set are written, so a retried fan-out never
   * turns a delivery that was already sent back into "queued". Several deliveries (of one order or many) in one call
   * per key prefix.
   */
  async initDeliveries(writes: Array<{ orderId: string; deliveryId: string; patch: DeliveryPatch; at?: Date }>): Promise<void> {
    await this.changeAll(writes.map((w) => ({ ...w, first: true })));
  }

  async initDelivery(orderId: string, deliveryId: string, patch: DeliveryPatch, at = new Date()): Promise<void> {
    await this.initDeliveries([{ orderId, deliveryId, patch, at }]);
  }

  /**
   * Writes the changed attributes of one delivery and tells the listeners. A status never replaces a higher-ranked
   * one (STATUS_RANK): a late or re-run "sent" must not undo what the correlator concluded, a late "retrying" from
   * a stalled run must not undo "sent". The check and the write are one script, so concurrent writers cannot interleave.
   */
  async update(orderId: string, deliveryId: string, patch: DeliveryPatch, at = new Date()): Promise<DeliveryRecord> {
    const [delivery] = await this.changeAll([{ orderId, deliveryId, patch, at }]);
    return delivery!;
  }

  /** Puts a chain member's notification (decided after its record write) into its group's outbox, once per event. */
  async appendNotification(orderId: string, delivery: DeliveryRecord, notification: unknown): Promise<boolean> {
    const group = this.groupOf(delivery.vendor, delivery.deliveryId);
    const appended = await (this.redis as ScriptedRedis).orderNotifyAppend(this.key(orderId, group), this.outboxKey(group),
      `${delivery.deliveryId}${SEP}${LAST_NOTIFIED}`, eventKey(delivery), JSON.stringify(notification));
    return Number(appended) === 1;
  }

  /**
   * The vendor acknowledged these deliveries: each one's ledger entry (written, its attempt marker dropped) and its
   * record change (+ history, outbox) in one script call per key prefix. Listeners are not told here: the caller
   * tells them (`tell`) as its job goes on, so a failing listener is never taken for a failed ledger write.
   */
  async acknowledge(writes: Array<{ orderId: string; deliveryId: string; patch: DeliveryPatch; ledger: LedgerWrite }>, ledgerTtlMs: number): Promise<RecordChange[]> {
    return (await this.write(writes, [], ledgerTtlMs)).changes;
  }

  /** Tells the listeners of a change written by `acknowledge`. */
  async tell(change: RecordChange): Promise<void> {
    for (const listener of this.listeners) await listener(change);
  }

  private async changeAll(
    writes: Array<{ orderId: string; deliveryId: string; patch: DeliveryPatch; at?: Date; first?: boolean }>,
    alongside: RawWrite[] = [],
  ): Promise<DeliveryRecord[]> {
    const { deliveries, changes } = await this.write(writes, alongside);
    for (const change of changes) await this.tell(change);
    return deliveries;
  }

  /** Writes the changes; answers the records written and the changes the listeners are to hear (status taken). */
  private async write(
    writes: Array<{ orderId: string; deliveryId: string; patch: DeliveryPatch; at?: Date; first?: boolean; ledger?: LedgerWrite }>,
    alongside: RawWrite[] = [],
    ledgerTtlMs?: number,
  ): Promise<{ deliveries: DeliveryRecord[]; changes: RecordChange[] }> {
    const deliveries = writes.map((w) => ({ deliveryId: w.deliveryId, ...w.patch, updatedAt: (w.at ?? new Date()).toISOString() }) as DeliveryRecord);
    const replies = await this.apply(writes.map((w, i): RawWrite => {
      const d = deliveries[i]!;
      const fields: string[] = [];
      for (const [attr, value] of Object.entries(d)) {
        if (value !== undefined && attr !== 'deliveryId' && (w.first || attr !== 'status')) fields.push(`${w.deliveryId}${SEP}${attr}`, JSON.stringify(value));
      }
      return { orderId: w.orderId, group: this.groupOf(d.vendor, d.deliveryId), deliveryId: w.deliveryId, first: w.first, fields, delivery: d, ledger: w.ledger };
    }).concat(alongside), ledgerTtlMs);
    const changes: RecordChange[] = [];
    for (const [i, delivery] of deliveries.entries()) {
      const [applied, member, queued] = replies[i]!;
      if (applied === 1 && delivery.status !== undefined) changes.push({ orderId: writes[i]!.orderId, delivery, chainMember: member === 1, queued: queued === 1 });
    }
    return { deliveries, changes };
  }

  /** One script call per key prefix (one in the single layout, one per group in per-queue). */
  private async apply(writes: RawWrite[], ledgerTtlMs?: number): Promise<Array<[number, number, number]>> {
    const byPrefix = new Map<string, number[]>();
    writes.forEach((w, i) => {
      const p = this.keys.beside(w.group);
      byPrefix.set(p, [...(byPrefix.get(p) ?? []), i]);
    });
    const out: Array<[number, number, number]> = new Array(writes.length);
    await Promise.all([...byPrefix.values()].map(async (indexes) => {
      const keys: string[] = [];
      const blockOf = new Map<string, number>();
      const changes: Change[] = indexes.map((i) => {
        const w = writes[i]!;
        const recordKey = this.key(w.orderId, w.group);
        let k = blockOf.get(recordKey);
        if (k === undefined) {
          k = keys.length + 1;
          blockOf.set(recordKey, k);
          keys.push(recordKey, this.historyKey(w.orderId, w.group), this.outboxKey(w.group));
        }
        const d = w.delivery;
        const id = w.deliveryId;
        const change: Change = {
          k, f: w.fields, sf: `${id}${SEP}status`, r: d?.status ? STATUS_RANK[d.status] : 0,
          of: `${ORDER}${SEP}orderId`, ov: JSON.stringify(w.orderId), cf: `${id}${SEP}chain`,
          hf: `${id}${SEP}${LAST_HISTORY}`, lf: `${id}${SEP}${LAST_NOTIFIED}`, e: '',
        };
        if (w.first) change.i = 1;
        if (w.ledger) {
          change.lk = keys.length + 1;
          change.lv = w.ledger.value;
          keys.push(w.ledger.key, w.ledger.attemptKey);
        }
        if (d?.status !== undefined) {
          change.s = JSON.stringify(d.status);
          change.e = eventKey(d);
          change.h = JSON.stringify(historyEntryOf(d));
          const n = this.opts.notification?.(w.orderId, d);
          if (n !== undefined) change.n = JSON.stringify(n);
        }
        return change;
      });
      const replies = await (this.redis as ScriptedRedis).orderNotifyRecord(keys.length, ...keys,
        JSON.stringify({ t: this.retentionMs, m: MAX_HISTORY_ENTRIES, l: ledgerTtlMs ?? 0 }), JSON.stringify(changes));
      indexes.forEach((i, j) => { out[i] = replies[j]!.map(Number) as [number, number, number]; });
    }));
    return out;
  }

  async getDelivery(orderId: string, deliveryId: string): Promise<DeliveryRecord | undefined> {
    const order = await this.get(orderId);
    return order?.deliveries.find((d) => d.deliveryId === deliveryId);
  }

  /** The order's parts: its own hash, then (per-queue layout) the groups it lists. */
  /** The order's parts: its own hash, then (per-queue layout) the hashes of the groups it lists. */
  private async parts(orderId: string): Promise<Array<Record<string, string>>> {
    const own = await this.redis.hgetall(this.key(orderId));
    return [own, ...await Promise.all(this.groupsListed(own).map((g) => this.redis.hgetall(this.key(orderId, g))))];
  }

  /** The groups an order's own part lists (`_order|g|<group>`); none in the single layout, where all is one hash. */
  private groupsListed(own: Record<string, string>): string[] {
    if (this.keys.layout === 'single') return [];
    const marker = `${ORDER}${SEP}g${SEP}`;
    return Object.keys(own).filter((f) => f.startsWith(marker)).map((f) => f.slice(marker.length));
  }

  async get(orderId: string): Promise<OrderRecord | undefined> {
    const parts = await this.parts(orderId);
    if (parts.every((h) => !h || Object.keys(h).length === 0)) return undefined;
    const order: OrderRecord = { orderId, deliveries: [] };
    const byId = new Map<string, Record<string, unknown>>();
    for (const hash of parts) {
      for (const [field, raw] of Object.entries(hash ?? {})) {
        const cut = field.lastIndexOf(SEP);
        const id = field.slice(0, cut);
        const attr = field.slice(cut + 1);
        if (id === ORDER || id.startsWith(`${ORDER}${SEP}`)) {
          if (attr === 'receivedAt') order.receivedAt = JSON.parse(raw) as string;
          continue;
        }
        if (attr.startsWith('_')) continue; // bookkeeping (last events), not part of the record
        const d = byId.get(id) ?? { deliveryId: id };
        d[attr] = JSON.parse(raw) as unknown;
        byId.set(id, d);
      }
    }
    order.deliveries = [...byId.values()].map((d) => d as unknown as DeliveryRecord)
      .sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.deliveryId.localeCompare(b.deliveryId));
    const chains = summariseChains(order.deliveries);
    if (chains.length) order.chains = chains;
    return order;
  }

  /** The order's status history, oldest first, from every group it has parts in. */
  async history(orderId: string): Promise<HistoryEntry[]> {
    const groups = this.keys.layout === 'single' ? [] : this.groupsListed(await this.redis.hgetall(this.key(orderId)));
    const lists = await Promise.all([QUEUES.orders, ...groups].map((g) => this.redis.lrange(this.historyKey(orderId, g), 0, -1)));
    const entries = parseHistory(lists.flat());
    return lists.length > 1 ? entries.sort((a, b) => a.at.localeCompare(b.at)) : entries;
  }

}
