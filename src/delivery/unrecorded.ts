import type { Logger } from 'pino';
import type { DeliveryLedger, LedgerEntry } from './ledger.js';
import type { Delivery } from './types.js';

interface Unrecorded { delivery: Delivery<unknown>; entry: LedgerEntry }

/**
 * Acknowledged deliveries whose ledger write failed past LEDGER_WRITE_RETRY. They must never be sent again, so they
 * stay here (a re-run in this process reads them like ledger entries) and are written every `everyMs` until Redis
 * takes them; `onWritten` then finishes the record. One write at a time; close() tries a last time.
 */
export class UnrecordedAcks {
  private readonly items = new Map<string, Unrecorded>();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly ledger: DeliveryLedger,
    private readonly onWritten: (item: Unrecorded) => Promise<void>,
    private readonly logger: Logger,
    private readonly everyMs = 2_000,
  ) {}

  get size(): number {
    return this.items.size;
  }

  find(deliveryId: string): LedgerEntry | undefined {
    return this.items.get(deliveryId)?.entry;
  }

  add(items: Unrecorded[]): void {
    for (const item of items) this.items.set(item.delivery.deliveryId, item);
    this.timer ??= setInterval(() => void this.flush(), this.everyMs);
  }

  /** Writes what is held; true when nothing is left. Never throws. */
  async flush(): Promise<boolean> {
    if (this.busy || !this.items.size) return !this.items.size;
    this.busy = true;
    const batch = [...this.items.values()];
    try {
      await this.ledger.record(batch.map(({ delivery, entry }) => ({ deliveryId: delivery.deliveryId, entry })));
      for (const item of batch) {
        this.items.delete(item.delivery.deliveryId);
        await this.onWritten(item).catch(() => undefined);
      }
      this.logger.info({ deliveries: batch.length }, 'late ledger write succeeded for acknowledged deliveries');
    } catch {
      // Redis still refuses writes: next round.
    } finally {
      this.busy = false;
      if (!this.items.size) this.stop();
    }
    return !this.items.size;
  }

  async close(): Promise<void> {
    this.stop();
    if (this.items.size && !(await this.flush())) {
      this.logger.error({ deliveries: this.items.size }, 'exiting with acknowledged deliveries not recorded (their attempt markers remain)');
    }
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
