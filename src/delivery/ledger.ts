import type { RedisConnection } from '../queues/connection.js';

export interface LedgerEntry {
  vendorMessageId?: string;
  acknowledgedAt: string;
  details?: Record<string, unknown>;
}

/** Written before a vendor request: a re-run that finds it (and no ledger entry) cannot know whether the vendor got it. */
export interface AttemptMarker {
  /** One id per vendor request (a batch shares it), quoted in logs and the held record. */
  requestId: string;
  /** ISO time the request was about to leave. */
  at: string;
  /** Deliveries in that request. */
  recipients: number;
}

/**
 * The double-send guard: once a vendor acknowledged a delivery, its entry is written at once, and every later run
 * of that delivery (retry, stalled-job re-run, duplicate job) finds it and does not call the vendor again.
 * Before the request, an attempt marker is written; the acknowledgement replaces it, a vendor's definite refusal
 * clears it, and only a request whose answer never arrived (crash, kill, deadline) leaves it behind.
 */
export class DeliveryLedger {
  private readonly prefixOf: (deliveryId: string) => string;

  /** `prefix`: one prefix, or the prefix of each delivery's keys (beside its delivery queue, keyspace.ts). */
  constructor(private readonly redis: RedisConnection, prefix: string | ((deliveryId: string) => string), private readonly ttlMs: number) {
    this.prefixOf = typeof prefix === 'string' ? () => prefix : prefix;
    if (!('orderNotifyLedgerMark' in redis)) redis.defineCommand('orderNotifyLedgerMark', { lua: MARK });
    if (!('orderNotifyLedgerAck' in redis)) redis.defineCommand('orderNotifyLedgerAck', { lua: ACK });
  }

  /** Where a delivery's entry and attempt marker live (for a caller writing the entry in its own script). */
  keysOf(deliveryId: string): { key: string; attemptKey: string } {
    return { key: this.key(deliveryId), attemptKey: this.attemptKey(deliveryId) };
  }

  get entryTtlMs(): number {
    return this.ttlMs;
  }

  private key(deliveryId: string): string {
    return `${this.prefixOf(deliveryId)}:sent:${deliveryId}`;
  }

  private attemptKey(deliveryId: string): string {
    return `${this.prefixOf(deliveryId)}:attempt:${deliveryId}`;
  }

  async find(deliveryId: string): Promise<LedgerEntry | undefined> {
    return (await this.lookup(deliveryId)).entry;
  }

  async findAttempt(deliveryId: string): Promise<AttemptMarker | undefined> {
    return (await this.lookup(deliveryId)).attempt;
  }

  /** The entry and the attempt marker of a delivery in one round trip (both live beside its queue). */
  async lookup(deliveryId: string): Promise<{ entry?: LedgerEntry; attempt?: AttemptMarker }> {
    const [entry, attempt] = await this.redis.mget(this.key(deliveryId), this.attemptKey(deliveryId));
    return { entry: entry ? (JSON.parse(entry) as LedgerEntry) : undefined, attempt: attempt ? (JSON.parse(attempt) as AttemptMarker) : undefined };
  }

  /** Before the request leaves: if this write fails, nothing is sent. */
  async markAttempt(deliveryIds: string[], marker: AttemptMarker): Promise<void> {
    const value = JSON.stringify(marker);
    await this.perPrefix(deliveryIds, (ids) => this.scripted.orderNotifyLedgerMark(ids.length, ...ids.map((id) => this.attemptKey(id)), String(this.ttlMs), value));
  }

  /** The vendor answered "no": the outcome is known (not sent). */
  async clearAttempts(deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length) await this.perPrefix(deliveryIds, (ids) => this.redis.del(...ids.map((id) => this.attemptKey(id))));
  }

  /** Records acknowledgements of one vendor request in one call per key prefix (and drops their attempt markers). */
  async record(entries: Array<{ deliveryId: string; entry: LedgerEntry }>): Promise<void> {
    if (!entries.length) return;
    const byId = new Map(entries.map((e) => [e.deliveryId, JSON.stringify(e.entry)]));
    await this.perPrefix([...byId.keys()], (ids) => this.scripted.orderNotifyLedgerAck(ids.length * 2,
      ...ids.flatMap((id) => [this.key(id), this.attemptKey(id)]), String(this.ttlMs), ...ids.map((id) => byId.get(id)!)));
  }

  private get scripted(): LedgerRedis {
    return this.redis as LedgerRedis;
  }

  /**
   * One call per key prefix: on a cluster a call's keys must share a slot, and a batch may span partitions. Scripts,
   * not pipelines: an ioredis pipeline copies every script defined on the connection (BullMQ's dozens) when built.
   */
  private async perPrefix(ids: string[], call: (ids: string[]) => Promise<unknown>): Promise<void> {
    const groups = new Map<string, string[]>();
    for (const id of ids) {
      const p = this.prefixOf(id);
      groups.set(p, [...(groups.get(p) ?? []), id]);
    }
    await Promise.all([...groups.values()].map(call));
  }

  /**
   * After an acknowledgement the vendor must never be asked again, so a failed write is not a vendor failure: it is
   * retried here with backoff for up to `boundMs` (Redis full, read-only during a failover, restarting). Resolves
   * true when written, false when the bound passed (the caller ends the job "sent, not recorded"). `write` is any write
   * that carries ledger entries (the delivery worker's ledger + record script).
   */
  async writeWithRetry(write: () => Promise<unknown>, boundMs: number, onRetry?: (e: unknown) => void): Promise<boolean> {
    const giveUpAt = Date.now() + boundMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        await write();
        return true;
      } catch (e) {
        onRetry?.(e);
        const left = giveUpAt - Date.now();
        if (left <= 0) return false;
        await new Promise((r) => setTimeout(r, Math.min(wait, left)));
      }
    }
  }
}

/** KEYS: attempt markers; ARGV: ttl ms, marker JSON. */
const MARK = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[1]) end
return #KEYS
`;

/** KEYS: (ledger entry, attempt marker) pairs; ARGV: ttl ms, then one entry JSON per pair. */
const ACK = `
for i = 1, #KEYS, 2 do
  redis.call('SET', KEYS[i], ARGV[(i + 1) / 2 + 1], 'PX', ARGV[1])
  redis.call('DEL', KEYS[i + 1])
end
return #KEYS / 2
`;

type LedgerRedis = RedisConnection & {
  orderNotifyLedgerMark(numKeys: number, ...args: string[]): Promise<number>;
  orderNotifyLedgerAck(numKeys: number, ...args: string[]): Promise<number>;
};
