import type { Delivery, SendOutcome } from './types.js';

interface Waiting<P> {
  delivery: Delivery<P>;
  resolve(outcome: SendOutcome): void;
  reject(error: unknown): void;
}

interface Group<P> {
  items: Array<Waiting<P>>;
  timer?: NodeJS.Timeout;
  closing: boolean;
}

export interface BatcherOptions<P> {
  maxBatch: number;
  lingerMs: number;
  keyOf(payload: P): string | undefined;
  /** Waits for permission to send one request (the shared rate limiter). The group stays open meanwhile. */
  gate(): Promise<void>;
  /** One vendor request for these deliveries; one outcome each, same order. Throws for whole-request failures. */
  send(batch: Array<Delivery<P>>): Promise<SendOutcome[]>;
}

/**
 * Groups concurrently active deliveries that can share one vendor request. A group closes when it is full, or
 * when its linger has passed AND the rate limiter grants a request — so at backlog, while the limiter makes us
 * wait, the group keeps filling up and each request carries as many recipients as the vendor allows.
 */
export class Batcher<P> {
  private readonly groups = new Map<string, Group<P>>();

  constructor(private readonly opts: BatcherOptions<P>) {}

  submit(delivery: Delivery<P>): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve, reject) => {
      const waiting: Waiting<P> = { delivery, resolve, reject };
      const key = this.opts.maxBatch > 1 ? this.opts.keyOf(delivery.payload) : undefined;
      if (key === undefined) {
        void this.dispatch({ items: [waiting], closing: true });
        return;
      }
      let group = this.groups.get(key);
      if (!group) {
        const fresh: Group<P> = { items: [], closing: false };
        fresh.timer = setTimeout(() => void this.close(key, fresh), this.opts.lingerMs);
        this.groups.set(key, fresh);
        group = fresh;
      }
      group.items.push(waiting);
      if (group.items.length >= this.opts.maxBatch) void this.close(key, group);
    });
  }

  /** Deliveries waiting in open groups (for shutdown and metrics). */
  get pending(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.items.length;
    return n;
  }

  private async close(key: string, group: Group<P>): Promise<void> {
    if (group.closing) return;
    group.closing = true;
    clearTimeout(group.timer);
    try {
      await this.opts.gate();
    } catch (e) {
      if (this.groups.get(key) === group) this.groups.delete(key);
      for (const w of group.items) w.reject(e);
      return;
    }
    if (this.groups.get(key) === group) this.groups.delete(key);
    const batch = group.items.splice(0, this.opts.maxBatch);
    // Late joiners beyond the cap start the next group.
    for (const w of group.items.splice(0)) this.submit(w.delivery).then(w.resolve, w.reject);
    await this.send(batch);
  }

  private async dispatch(group: Group<P>): Promise<void> {
    try {
      await this.opts.gate();
    } catch (e) {
      for (const w of group.items) w.reject(e);
      return;
    }
    await this.send(group.items);
  }

  private async send(batch: Array<Waiting<P>>): Promise<void> {
    try {
      const outcomes = await this.opts.send(batch.map((w) => w.delivery));
      if (outcomes.length !== batch.length) {
        throw new Error(`vendor adapter answered ${outcomes.length} outcomes for ${batch.length} deliveries`);
      }
      batch.forEach((w, i) => w.resolve(outcomes[i]!));
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }
}
