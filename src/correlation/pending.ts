import type { RedisConnection } from '../queues/connection.js';

/** A Twin24 message waiting to be tied to its chat session and the bot's result. */
export interface PendingMessage {
  messageId: string;
  deliveryId: string;
  orderId: string;
  ruleId: string;
  /** Epoch ms when Twin24 acknowledged the message (the statistics window is built from these). */
  sentAt: number;
}

/**
 * The pending set: a sorted set by send time (cheap oldest-first windows) plus one hash of message details.
 * The Twin24 worker adds; the correlator reads windows and removes messages once they are final.
 */
export class PendingMessages {
  constructor(private readonly redis: RedisConnection, private readonly prefix: string) {}

  get indexKey(): string { return `${this.prefix}:twin24:pending`; }
  get dataKey(): string { return `${this.prefix}:twin24:pending:data`; }

  /** Idempotent: adding the same message again (a re-run after a crash) changes nothing. */
  async add(messages: PendingMessage[]): Promise<void> {
    if (!messages.length) return;
    const tx = this.redis.multi();
    for (const m of messages) {
      tx.zadd(this.indexKey, 'NX', m.sentAt, m.messageId);
      tx.hsetnx(this.dataKey, m.messageId, JSON.stringify(m));
    }
    await tx.exec();
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.indexKey);
  }
}
