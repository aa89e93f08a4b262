/**
 * Where every key lives. Two layouts:
 * - `single` (default): every queue and every key of ours under one prefix (QUEUE_PREFIX, e.g. `order-notify`, or
 *   `{order-notify}` on Redis Cluster, which then holds everything on one shard). The key names are the ones
 *   order-notify has always used, so an upgrade keeps its jobs and records.
 * - `per-queue`: each queue gets its own hash tag, `<base>:{<queue>}`, and what its workers write per job (ledger,
 *   attempt marker, the record and history of its deliveries, its hand-back outbox) lives beside it under the same
 *   tag. On a Redis Cluster the queues spread over the masters, and a delivery is still finished in one script.
 *
 * A "group" is the queue a key belongs beside: a delivery's group is its delivery queue (or partition); the order
 * itself (received-at, idempotency) belongs beside the `orders` queue.
 */
export const KEY_LAYOUTS = ['single', 'per-queue'] as const;
export type KeyLayout = (typeof KEY_LAYOUTS)[number];

export class Keyspace {
  /** The prefix without hash-tag braces (names, metrics). */
  readonly base: string;

  constructor(private readonly prefix: string, readonly layout: KeyLayout = 'single') {
    this.base = prefix.replace(/[{}]/g, '');
  }

  /** BullMQ prefix of one queue. */
  queuePrefix(queue: string): string {
    return this.beside(queue);
  }

  /** Prefix of our own keys that live beside a queue (the same slot as the queue on a cluster). */
  beside(group: string): string {
    return this.layout === 'single' ? this.prefix : `${this.base}:{${group}}`;
  }
}

export function keyspace(prefix: string, layout: KeyLayout = 'single'): Keyspace {
  return new Keyspace(prefix, layout);
}

/**
 * Distinct prefixes a reader has to look under for keys spread over groups (one in the `single` layout, one per
 * group in `per-queue`), e.g. every place an order's record may have parts.
 */
export function distinctPrefixes(keys: Keyspace, groups: readonly string[]): string[] {
  return [...new Set(groups.map((g) => keys.beside(g)))];
}
