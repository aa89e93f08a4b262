import type { RedisConnection } from '../queues/connection.js';
import type { AttemptMarker } from './ledger.js';
import type { DeliveryJobData } from './types.js';

/** A delivery whose earlier attempt has an unknown outcome, on a route that says hold: waits for an operator. */
export interface HeldDelivery {
  job: DeliveryJobData;
  attempt: AttemptMarker;
  heldAt: string;
}

/**
 * The held list: one hash per prefix, delivery id → what is needed to send it again (the rendered job) and what
 * is known about the attempt. Written by the delivery worker, read and emptied by the operator's CLI commands.
 */
export class HeldDeliveries {
  constructor(private readonly redis: RedisConnection, private readonly prefix: string) {}

  get key(): string {
    return `${this.prefix}:held`;
  }

  async hold(entry: HeldDelivery): Promise<void> {
    await this.redis.hset(this.key, entry.job.deliveryId, JSON.stringify(entry));
  }

  async get(deliveryId: string): Promise<HeldDelivery | undefined> {
    const raw = await this.redis.hget(this.key, deliveryId);
    return raw ? (JSON.parse(raw) as HeldDelivery) : undefined;
  }

  async list(vendor?: string): Promise<HeldDelivery[]> {
    const all = Object.values(await this.redis.hgetall(this.key)).map((raw) => JSON.parse(raw) as HeldDelivery);
    return all.filter((h) => vendor === undefined || h.job.vendor === vendor).sort((a, b) => a.heldAt.localeCompare(b.heldAt));
  }

  async count(): Promise<number> {
    return this.redis.hlen(this.key);
  }

  /** Returns false when it was not held (already released by someone else). */
  async remove(deliveryId: string): Promise<boolean> {
    return (await this.redis.hdel(this.key, deliveryId)) === 1;
  }
}
