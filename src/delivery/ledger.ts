import type { RedisConnection } from '../queues/connection.js';

export interface LedgerEntry {
  vendorMessageId?: string;
  acknowledgedAt: string;
  details?: Record<string, unknown>;
}

/**
 * The double-send guard: once a vendor acknowledged a delivery, its entry is written at once, and every later run
 * of that delivery (retry, stalled-job re-run, duplicate job) finds it and does not call the vendor again.
 */
export class DeliveryLedger {
  constructor(private readonly redis: RedisConnection, private readonly prefix: string, private readonly ttlMs: number) {}

  private key(deliveryId: string): string {
    return `${this.prefix}:sent:${deliveryId}`;
  }

  async find(deliveryId: string): Promise<LedgerEntry | undefined> {
    const raw = await this.redis.get(this.key(deliveryId));
    return raw ? (JSON.parse(raw) as LedgerEntry) : undefined;
  }

  /** Records acknowledgements of one vendor request in one round trip. */
  async record(entries: Array<{ deliveryId: string; entry: LedgerEntry }>): Promise<void> {
    if (!entries.length) return;
    const pipeline = this.redis.pipeline();
    for (const { deliveryId, entry } of entries) pipeline.set(this.key(deliveryId), JSON.stringify(entry), 'PX', this.ttlMs);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }
}
