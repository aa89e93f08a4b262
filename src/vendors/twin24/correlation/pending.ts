import { z } from 'zod';
import type { RedisConnection } from '../../../queues/connection.js';

/** A Twin24 message waiting to be tied to its chat session and the bot's result. */
export interface PendingMessage {
  messageId: string;
  deliveryId: string;
  orderId: string;
  ruleId: string;
  /** Epoch ms when Twin24 acknowledged the message (the statistics window is built from these). */
  sentAt: number;
  /**
   * The Twin24 chat (`channels.chat.chatId`) the message went through, when a rule overrides TWIN24_CHAT_ID. Kept
   * for the record only: sessions are looked up by session id (providerMessageId), as the seed does.
   */
  channelChatId?: string;
  /** The delivery's trace context (tracing on): the correlator's record updates join the order's trace. */
  trace?: string;
}

/** What the correlator learned so far about a message that is not final yet. */
export interface PendingProgress {
  /** Last Twin24 status seen (written to the record only when it changes). */
  vendorStatus?: string;
  /** `providerMessageId`: the chat session the message started (the record's `chatId`). */
  sessionId?: string;
  /** When we first saw it DELIVERED: the session started between sentAt and this instant. */
  deliveredSeenAt?: number;
}

export interface PendingEntry extends PendingMessage {
  progress: PendingProgress;
}

const messageSchema = z.object({
  messageId: z.string().min(1),
  deliveryId: z.string().min(1),
  orderId: z.string().min(1),
  ruleId: z.string().min(1),
  sentAt: z.number().finite(),
  channelChatId: z.string().min(1).optional(),
  // Only for tracing: a damaged value is dropped, never the message.
  trace: z.string().max(1_000).optional().catch(undefined),
});
const progressSchema = z.object({
  vendorStatus: z.string().optional(),
  sessionId: z.string().optional(),
  deliveredSeenAt: z.number().optional(),
});

/** Read page size: bounds one Redis reply when the backlog is large. */
const READ_CHUNK = 1_000;

/**
 * The pending set: a sorted set by send time (cheap oldest-first windows), one hash of message details and one
 * hash of correlation progress. The Twin24 worker adds; the correlator reads, saves progress, and removes a message
 * only after its final state is stored in the order record.
 */
export class PendingMessages {
  constructor(private readonly redis: RedisConnection, private readonly prefix: string) {}

  get indexKey(): string { return `${this.prefix}:twin24:pending`; }
  get dataKey(): string { return `${this.prefix}:twin24:pending:data`; }
  get progressKey(): string { return `${this.prefix}:twin24:pending:progress`; }

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

  /**
   * Every pending message, oldest first, with its progress. Entries whose details are missing or unreadable
   * (edited by hand) come back in `unreadable` so the caller can log and drop them instead of failing every tick.
   */
  async list(): Promise<{ entries: PendingEntry[]; unreadable: string[] }> {
    const entries: PendingEntry[] = [];
    const unreadable: string[] = [];
    for (let start = 0; ; start += READ_CHUNK) {
      const ids = await this.redis.zrange(this.indexKey, start, start + READ_CHUNK - 1);
      if (ids.length === 0) break;
      const [data, progress] = await Promise.all([this.redis.hmget(this.dataKey, ...ids), this.redis.hmget(this.progressKey, ...ids)]);
      ids.forEach((id, i) => {
        const message = parseJson(messageSchema, data[i]);
        if (!message) {
          unreadable.push(id);
          return;
        }
        entries.push({ ...message, progress: parseJson(progressSchema, progress[i]) ?? {} });
      });
      if (ids.length < READ_CHUNK) break;
    }
    return { entries, unreadable };
  }

  /** Up to `limit` messages sent before `cutoff` (epoch ms), oldest first; unreadable ones come back as ids only. */
  async olderThan(cutoff: number, limit = READ_CHUNK): Promise<{ entries: PendingEntry[]; unreadable: string[] }> {
    const ids = await this.redis.zrangebyscore(this.indexKey, '-inf', `(${cutoff}`, 'LIMIT', 0, limit);
    if (!ids.length) return { entries: [], unreadable: [] };
    const [data, progress] = await Promise.all([this.redis.hmget(this.dataKey, ...ids), this.redis.hmget(this.progressKey, ...ids)]);
    const entries: PendingEntry[] = [];
    const unreadable: string[] = [];
    ids.forEach((id, i) => {
      const message = parseJson(messageSchema, data[i]);
      if (message) entries.push({ ...message, progress: parseJson(progressSchema, progress[i]) ?? {} });
      else unreadable.push(id);
    });
    return { entries, unreadable };
  }

  async saveProgress(updates: Array<{ messageId: string; progress: PendingProgress }>): Promise<void> {
    if (!updates.length) return;
    await this.redis.hset(this.progressKey, ...updates.flatMap((u) => [u.messageId, JSON.stringify(u.progress)]));
  }

  /** Drops messages whose final state is stored (call only after the record write succeeded). */
  async remove(messageIds: string[]): Promise<void> {
    if (!messageIds.length) return;
    await this.redis.multi()
      .zrem(this.indexKey, ...messageIds)
      .hdel(this.dataKey, ...messageIds)
      .hdel(this.progressKey, ...messageIds)
      .exec();
  }
}

function parseJson<T>(schema: z.ZodType<T>, raw: string | null | undefined): T | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
