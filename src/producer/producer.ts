import { Queue } from 'bullmq';
import { parseOrderPaid, type OrderPaid } from '../events/order-paid.js';
import { OrderRecords, type OrderRecord } from '../orders/record.js';
import { createRedis, waitReady, type RedisConnection } from '../queues/connection.js';
import { orderDedupId, orderJobId, proposeOrderJobId } from '../queues/job-ids.js';
import { keyspace, type KeyLayout } from '../queues/keyspace.js';
import { JOB_NAMES, QUEUES } from '../queues/names.js';
import { orderJobOptions, queueAt } from '../queues/options.js';
import { addJobs, type JobToAdd } from '../queues/add-jobs.js';
import { hostTracing, NO_TRACING, type Tracing } from '../observability/tracing.js';
import { SeenOrders } from './seen.js';
import { parseOrderPaidBatch } from './validate.js';

/**
 * Orders per slice of a bulk call. The slices of one call go to Redis concurrently on the one connection, so Redis
 * adds one slice while this process builds the next (one addBulk of the whole call leaves each side idle while the
 * other works). Measured in bench (bulk enqueue): 250 was as fast as smaller slices with fewer calls.
 */
const SLICE = 250;

export interface ProducerOptions {
  /** An ioredis connection you own (made with enableOfflineQueue: false to fail fast), or a URL. */
  connection?: RedisConnection;
  redisUrl?: string;
  clusterNodes?: string[];
  /** BullMQ prefix; must match the workers' QUEUE_PREFIX. */
  prefix?: string;
  /** Where keys live; must match the workers' REDIS_KEY_LAYOUT (default `single`: the key names of every release so far). */
  keyLayout?: KeyLayout;
  /** The same order id within this window is one event (default 7 days), even after its job was removed. */
  idempotencyWindowMs?: number;
  /** How long a call may wait for Redis before failing (default 3 s). */
  timeoutMs?: number;
  /** Job retention, as the workers use it (defaults: completed 1 day, failed 14 days). */
  keepCompletedMs?: number;
  keepFailedMs?: number;
  /** Per-order record retention, for getOrder (default 30 days). */
  orderRetentionMs?: number;
  /**
   * Traces each order from here (one trace per order, carried into every job). Default: when an OTEL_* variable
   * asks for traces, the host process's OpenTelemetry SDK is used (loaded on first use); otherwise nothing is loaded.
   */
  tracing?: Tracing;
}

export interface EnqueueResult {
  jobId: string;
  /** true when this order id was already enqueued within the idempotency window: nothing new was added. */
  duplicate: boolean;
}

export class RedisUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`Redis is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'RedisUnavailableError';
  }
}

/** The monolith's side of order-notify: validate, enqueue idempotently, read back what happened. */
export class OrderNotifyProducer {
  private readonly queue: Queue;
  private readonly records: OrderRecords;
  private readonly ownsConnection: boolean;
  private readonly connection: RedisConnection;
  private readonly windowMs: number;
  private readonly timeoutMs: number;
  private readonly seen: SeenOrders;
  private tracing?: Promise<Tracing>;
  private readonly tracingOption?: Tracing;

  constructor(opts: ProducerOptions = {}) {
    this.ownsConnection = !opts.connection;
    this.connection = opts.connection ?? createRedis({ url: opts.redisUrl ?? 'redis://127.0.0.1:6379', clusterNodes: opts.clusterNodes }, 'producer');
    this.connection.on('error', () => {}); // failures surface on calls as RedisUnavailableError
    const prefix = opts.prefix ?? 'order-notify';
    const keys = keyspace(prefix, opts.keyLayout);
    this.windowMs = opts.idempotencyWindowMs ?? 7 * 86_400_000;
    this.timeoutMs = opts.timeoutMs ?? 3_000;
    this.seen = new SeenOrders(this.connection, `${keys.beside(QUEUES.orders)}:${QUEUES.orders}`, this.windowMs);
    this.queue = new Queue(QUEUES.orders, {
      connection: this.connection,
      ...queueAt(keys, QUEUES.orders), // the workers' prefix and event-stream cap (a Queue writes its cap into the meta when it opens)
      defaultJobOptions: orderJobOptions({ jobs: { keepCompletedMs: opts.keepCompletedMs ?? 86_400_000, keepFailedMs: opts.keepFailedMs ?? 14 * 86_400_000 } }),
    });
    this.queue.on('error', () => {});
    this.records = new OrderRecords(this.connection, keys, opts.orderRetentionMs ?? 30 * 86_400_000);
    this.tracingOption = opts.tracing;
  }

  /** Validates and enqueues one order.paid event. Throws InvalidEventError (naming each bad field) or RedisUnavailableError. */
  async orderPaid(input: unknown): Promise<EnqueueResult> {
    const event = parseOrderPaid(input);
    const tracing = await this.getTracing();
    // The order's trace starts here (under the caller's span, e.g. the ingest request, when there is one).
    return tracing.span('order.paid', { kind: 'producer', attributes: { 'order_notify.order_id': event.orderId } }, async (span) => {
      const [result] = await this.enqueue([event], [span.carrier()]);
      span.setAttributes({ 'order_notify.duplicate': result!.duplicate, 'bullmq.job.id': result!.jobId });
      return result!;
    });
  }

  /**
   * Validates all events first (nothing is enqueued if one is bad: InvalidEventError names `<index>.<field>`), then
   * enqueues them in slices sent concurrently. The same order twice in one call is one event.
   */
  async orderPaidBulk(inputs: unknown[]): Promise<EnqueueResult[]> {
    const events = parseOrderPaidBatch(inputs);
    const tracing = await this.getTracing();
    // Tracing off (the default) costs nothing per event: no spans, no carriers.
    if (!tracing.enabled) return this.enqueue(events);
    return tracing.span('order.paid bulk', { kind: 'producer', attributes: { 'order_notify.orders': events.length } }, async (bulk) => {
      // One trace per order, not one for the whole batch: each order's root span links back to this call.
      const spans = events.map((e) => tracing.start('order.paid', {
        kind: 'producer', root: true, links: [bulk.carrier()], attributes: { 'order_notify.order_id': e.orderId },
      }));
      try {
        const results = await this.enqueue(events, spans.map((s) => s.carrier()));
        results.forEach((r, i) => spans[i]!.setAttributes({ 'order_notify.duplicate': r.duplicate, 'bullmq.job.id': r.jobId }));
        return results;
      } finally {
        for (const s of spans) s.end();
      }
    });
  }

  /** The per-order record: every delivery with status, vendor ids, Twin24 chat id and result. */
  async getOrder(orderId: string): Promise<OrderRecord | undefined> {
    return this.withDeadline(this.connected().then(() => this.records.get(orderId)));
  }

  async close(): Promise<void> {
    await this.queue.close();
    if (this.ownsConnection) this.connection.disconnect();
  }

  /**
   * Idempotency has two layers. The order's own job id makes concurrent adds of one order a single job, but only
   * while that job exists (it is removed by hand, by queue.clean() or by retention). So each accepted order also
   * leaves its own key for the whole window (SeenOrders), checked first and written after the add succeeded.
   */
  private async enqueue(events: OrderPaid[], traces: ReadonlyArray<string | undefined> = []): Promise<EnqueueResult[]> {
    return this.withDeadline((async () => {
      await this.connected();
      const results = new Array<EnqueueResult>(events.length);
      const first = new Map<string, number>();
      const unique: number[] = [];
      const copies: number[] = [];
      for (let i = 0; i < events.length; i++) {
        const orderId = events[i]!.orderId;
        if (first.has(orderId)) copies.push(i);
        else { first.set(orderId, i); unique.push(i); }
      }
      const slices: Array<Promise<void>> = [];
      for (let s = 0; s < unique.length; s += SLICE) slices.push(this.enqueueSlice(events, traces, unique.slice(s, s + SLICE), results));
      await Promise.all(slices);
      // A later copy of an order in the same call answers with the first copy's job.
      for (const i of copies) results[i] = { jobId: results[first.get(events[i]!.orderId)!]!.jobId, duplicate: true };
      return results;
    })());
  }

  /**
   * One slice: which orders were seen (one script call), add the others (one addBulk), remember them (one script
   * call). A new order is added under its own job id (orderJobId), so two producers adding it at once make one job;
   * the one whose idempotency key lands first answers `duplicate: false`, the other `true`.
   */
  private async enqueueSlice(events: OrderPaid[], traces: ReadonlyArray<string | undefined>, slice: number[], results: EnqueueResult[]): Promise<void> {
    const dedupIds = slice.map((i) => orderDedupId(events[i]!.orderId));
    const ownIds = slice.map((i) => orderJobId(events[i]!.orderId));
    const keys = dedupIds.map((id) => this.seen.key(id));
    const seen = await this.seen.check(keys, ownIds.map((id) => this.queue.toKey(id)), ownIds);
    const added: number[] = [];
    const proposed: Array<string | undefined> = [];
    const bulk: Array<JobToAdd<OrderPaid>> = [];
    for (let n = 0; n < slice.length; n++) {
      const answer = seen[n]!;
      const i = slice[n]!;
      if (answer === '=') results[i] = { jobId: ownIds[n]!, duplicate: true };
      else if (answer !== '' && answer !== '~') results[i] = { jobId: answer, duplicate: true };
      else {
        // '~': its own id is held by a job older than the window, so a fresh id, with BullMQ's deduplication against
        // a concurrent re-send (rare: an order sent again after the window while its old job is still kept).
        const fresh = answer === '~' ? proposeOrderJobId(events[i]!.orderId) : undefined;
        const opts = fresh ? { jobId: fresh, deduplication: { id: dedupIds[n]!, ttl: this.windowMs } } : { jobId: ownIds[n]! };
        // The order's trace context, read by the fan-out worker's BullMQ telemetry (bullmq-otel format).
        bulk.push({ name: JOB_NAMES.orderPaid, data: events[i]!, opts: traces[i] ? { ...opts, telemetry: { metadata: traces[i] } } : opts });
        added.push(n);
        proposed.push(fresh);
      }
    }
    if (!bulk.length) return;
    const jobIds = (await addJobs(this.queue, bulk)).map((job) => job.id!);
    const remembered = await this.seen.remember(added.map((n) => keys[n]!), jobIds);
    for (let k = 0; k < added.length; k++) {
      const first = remembered[k] === 1;
      const jobId = first || typeof remembered[k] !== 'string' ? jobIds[k]! : (remembered[k] as string);
      // Own id: the call that remembered the order first added it. Fresh id: BullMQ answers a deduplicated add with
      // the id of the job that holds the order, so a different id = duplicate.
      const duplicate = proposed[k] ? jobIds[k] !== proposed[k] : !first;
      results[slice[added[k]!]!] = { jobId, duplicate };
    }
  }

  private getTracing(): Promise<Tracing> {
    this.tracing ??= this.tracingOption ? Promise.resolve(this.tracingOption) : hostTracing().catch(() => NO_TRACING);
    return this.tracing;
  }

  /** The first call may come while the connection is still being made; a lost connection fails at once. */
  private async connected(): Promise<void> {
    if (['wait', 'connecting', 'connect'].includes(this.connection.status)) {
      if (this.connection.status === 'wait') await this.connection.connect().catch(() => undefined);
      await waitReady(this.connection, this.timeoutMs);
    }
  }

  private async withDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailableError(new Error(`no answer within ${this.timeoutMs} ms`))), this.timeoutMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } catch (e) {
      if (e instanceof RedisUnavailableError) throw e;
      // Without an offline queue, a call made while disconnected fails at once; the connection state says why.
      if (this.connection.status !== 'ready' || isConnectionError(e)) throw new RedisUnavailableError(e);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Errors that mean "Redis is away or not serving yet", whatever the connection status says at the moment: the
 * socket can be half-closed while ioredis still reports 'ready', and a restarted Redis answers LOADING.
 */
function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return e.name === 'MaxRetriesPerRequestError'
    || ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code)
    || /^(LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN)\b/.test(e.message)
    || /Stream isn't writeable|Connection is closed|Command timed out/.test(e.message);
}

export function createProducer(opts: ProducerOptions = {}): OrderNotifyProducer {
  return new OrderNotifyProducer(opts);
}
