import { InvalidEventError, parseOrderPaid, type OrderPaid } from '../events/order-paid.js';
import type { OrderNotifyProducer } from '../producer/producer.js';
import { RedisUnavailableError } from '../producer/producer.js';
import type { Logger } from '../runtime/logger.js';
import { withDeadline, type OutboxMetrics } from './metrics.js';
import type { BatchOutcome, OutboxRow, OutboxStore } from './store.js';

export interface RelaySettings {
  pollEveryMs: number;
  batchSize: number;
  afterEnqueue: 'mark' | 'delete';
  retentionMs: number;
}

export interface OutboxRelayDeps {
  settings: RelaySettings;
  store: OutboxStore;
  producer: Pick<OrderNotifyProducer, 'orderPaidBulk'>;
  /** true while the producer's Redis connection is up (checked before every claim). */
  redisUp(): boolean;
  /** Resolves when Redis answers again (a PING); used only while waiting for it. */
  redisReady(): Promise<void>;
  logger: Logger;
  metrics?: OutboxMetrics;
  /** Each relayed event, for the shared events-enqueued counter. */
  onEnqueued?(duplicate: boolean): void;
}

type Waiting = { on: 'redis' | 'database'; reason: string };

/** Retention purges run this often (at most), in chunks, so a large backlog of old rows never means one huge DELETE. */
const PURGE_EVERY_MS = 60_000;
const PURGE_CHUNK = 1_000;

/**
 * Moves committed outbox rows into the orders queue, one database transaction per batch:
 * claim (SKIP LOCKED) → validate → enqueue through the producer → mark/delete → commit.
 *
 * The relay is at-least-once: a crash after the enqueue and before the commit leaves the rows pending, and the next
 * claim enqueues them again. The producer is idempotent per order id (IDEMPOTENCY_WINDOW), so the second enqueue is
 * answered `duplicate` and the queue still holds the order once: at-least-once relay, exactly-once queue.
 * A row is marked done only in the transaction that follows a successful enqueue, so nothing is marked that was not
 * enqueued. Rows that can never be enqueued (bad JSON, not an order.paid) are set aside with their error instead.
 */
export class OutboxRelay {
  private stopping = false;
  private waiting: Waiting | undefined;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private woken = false;
  private nextPurgeAt: number;

  constructor(private readonly deps: OutboxRelayDeps) {
    this.nextPurgeAt = Date.now() + Math.min(PURGE_EVERY_MS, deps.settings.retentionMs);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** New rows were signalled (LISTEN/NOTIFY): claim now instead of at the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Throws while the relay cannot relay: Redis or the database away, or shutting down. */
  async ready(): Promise<void> {
    if (this.stopping) throw new Error('shutting down');
    if (this.waiting) throw new Error(`outbox relay paused: ${this.waiting.on} unavailable (${this.waiting.reason})`);
  }

  /** Stops claiming; the batch in flight finishes (its enqueue is bounded by the producer's deadline) or is cut at timeoutMs. */
  async close(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    if (!this.loop) return;
    const finished = await withDeadline(this.loop.then(() => true), timeoutMs, 'outbox batch').catch(() => false);
    // A cut-off batch is never committed: its rows stay pending (and locked until the connection closes).
    if (!finished) this.deps.logger.warn({ timeoutMs }, 'outbox batch did not finish in time; its rows stay pending');
  }

  private async run(): Promise<void> {
    const { settings } = this.deps;
    while (!this.stopping) {
      const began = Date.now();
      const claimed = await this.step();
      if (this.stopping) break;
      // A full batch means more rows are probably waiting: go again at once. Otherwise polls start every
      // OUTBOX_POLL_EVERY (start to start, not after the batch), so a committed row waits at most that long for its claim.
      if (this.waiting) await this.sleep(Math.max(settings.pollEveryMs, 1_000));
      else if (claimed < settings.batchSize) await this.sleep(Math.max(10, settings.pollEveryMs - (Date.now() - began)));
    }
  }

  private async step(): Promise<number> {
    const { store, settings, metrics } = this.deps;
    if (!this.deps.redisUp() || this.waiting?.on === 'redis') {
      // Redis away: claim nothing, so every row stays in the table untouched until it is back.
      try {
        await withDeadline(this.deps.redisReady(), 2_000, 'redis');
      } catch (e) {
        this.pause('redis', e);
        return 0;
      }
    }
    const end = metrics?.batchSeconds.startTimer();
    try {
      const claimed = await store.claimBatch(settings.batchSize, (rows) => this.relay(rows));
      if (claimed) end?.();
      this.resume();
      await this.purgeIfDue();
      return claimed;
    } catch (e) {
      this.pause(e instanceof RedisUnavailableError ? 'redis' : 'database', e);
      return 0;
    }
  }

  /** Runs inside the claim transaction: what it returns is written back before the commit. */
  private async relay(rows: OutboxRow[]): Promise<BatchOutcome> {
    const failed: BatchOutcome['failed'] = [];
    const valid: Array<{ id: string; event: OrderPaid }> = [];
    for (const row of rows) {
      let json: unknown;
      try {
        json = JSON.parse(row.payload);
      } catch (e) {
        failed.push({ id: row.id, error: `payload is not valid JSON: ${e instanceof Error ? e.message : String(e)}` });
        continue;
      }
      try {
        valid.push({ id: row.id, event: parseOrderPaid(json) });
      } catch (e) {
        if (!(e instanceof InvalidEventError)) throw e;
        failed.push({ id: row.id, error: e.message });
      }
    }
    if (valid.length) {
      // Throws RedisUnavailableError when Redis is away: the transaction rolls back and the rows stay pending.
      const results = await this.deps.producer.orderPaidBulk(valid.map((v) => v.event)).catch((e: unknown) => {
        throw e instanceof RedisUnavailableError ? e : new RedisUnavailableError(e); // any enqueue failure is on the Redis side
      });
      for (const r of results) {
        this.deps.metrics?.rows.inc({ outcome: r.duplicate ? 'duplicate' : 'enqueued' });
        this.deps.onEnqueued?.(r.duplicate);
      }
    }
    for (const f of failed) {
      this.deps.metrics?.rows.inc({ outcome: 'failed' });
      // The reason names fields only; the payload itself (customer data) stays in the database.
      this.deps.logger.warn({ outboxId: f.id, reason: f.error.startsWith('payload is not valid JSON') ? 'payload is not valid JSON' : f.error }, 'outbox row set aside (failed_at)');
    }
    return { done: valid.map((v) => v.id), failed };
  }

  private async purgeIfDue(): Promise<void> {
    const { settings, store } = this.deps;
    if (settings.afterEnqueue !== 'mark' || Date.now() < this.nextPurgeAt) return;
    this.nextPurgeAt = Date.now() + Math.min(PURGE_EVERY_MS, settings.retentionMs);
    let total = 0;
    for (let i = 0; i < 100 && !this.stopping; i++) {
      const n = await store.purgeProcessed(settings.retentionMs, PURGE_CHUNK);
      total += n;
      this.deps.metrics?.purged.inc(n);
      if (n < PURGE_CHUNK) break;
    }
    if (total) this.deps.logger.info({ rows: total }, 'outbox rows past OUTBOX_RETENTION deleted');
  }

  private pause(on: Waiting['on'], e: unknown): void {
    const reason = e instanceof Error ? e.message : String(e);
    if (this.waiting?.on !== on) this.deps.logger.warn({ waitingFor: on, reason }, `outbox relay paused: ${on} unavailable; rows stay in the table`);
    this.waiting = { on, reason };
    this.deps.metrics?.claiming.set(0);
  }

  private resume(): void {
    if (this.waiting) this.deps.logger.info({ waitedFor: this.waiting.on }, 'outbox relay resumed');
    this.waiting = undefined;
    this.deps.metrics?.claiming.set(1);
  }

  private async sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
    this.wakeUp = undefined;
    this.woken = false;
  }
}
