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
  constructor(private readonly redis: RedisConnection, private readonly prefix: string, private readonly ttlMs: number) {}

  private key(deliveryId: string): string {
    return `${this.prefix}:sent:${deliveryId}`;
  }

  private attemptKey(deliveryId: string): string {
    return `${this.prefix}:attempt:${deliveryId}`;
  }

  async find(deliveryId: string): Promise<LedgerEntry | undefined> {
    const raw = await this.redis.get(this.key(deliveryId));
    return raw ? (JSON.parse(raw) as LedgerEntry) : undefined;
  }

  async findAttempt(deliveryId: string): Promise<AttemptMarker | undefined> {
    const raw = await this.redis.get(this.attemptKey(deliveryId));
    return raw ? (JSON.parse(raw) as AttemptMarker) : undefined;
  }

  /** Before the request leaves: if this write fails, nothing is sent. */
  async markAttempt(deliveryIds: string[], marker: AttemptMarker): Promise<void> {
    const pipeline = this.redis.pipeline();
    for (const id of deliveryIds) pipeline.set(this.attemptKey(id), JSON.stringify(marker), 'PX', this.ttlMs);
    throwFirst(await pipeline.exec());
  }

  /** The vendor answered "no": the outcome is known (not sent). */
  async clearAttempts(deliveryIds: string[]): Promise<void> {
    if (deliveryIds.length) await this.redis.del(...deliveryIds.map((id) => this.attemptKey(id)));
  }

  /** Records acknowledgements of one vendor request in one round trip (and drops their attempt markers). */
  async record(entries: Array<{ deliveryId: string; entry: LedgerEntry }>): Promise<void> {
    if (!entries.length) return;
    const pipeline = this.redis.pipeline();
    for (const { deliveryId, entry } of entries) {
      pipeline.set(this.key(deliveryId), JSON.stringify(entry), 'PX', this.ttlMs);
      pipeline.del(this.attemptKey(deliveryId));
    }
    throwFirst(await pipeline.exec());
  }

  /**
   * After an acknowledgement the vendor must never be asked again, so a failed write is not a vendor failure: it is
   * retried here with backoff for up to `boundMs` (Redis full, read-only during a failover, restarting). Resolves
   * true when written, false when the bound passed (the caller ends the job "sent, not recorded").
   */
  async recordWithRetry(entries: Array<{ deliveryId: string; entry: LedgerEntry }>, boundMs: number, onRetry?: (e: unknown) => void): Promise<boolean> {
    const giveUpAt = Date.now() + boundMs;
    for (let wait = 100; ; wait = Math.min(wait * 2, 2_000)) {
      try {
        await this.record(entries);
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

function throwFirst(results: Array<[Error | null, unknown]> | null): void {
  const failed = results?.find(([err]) => err);
  if (failed) throw failed[0];
}
