import type { Queue } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import { queueDelay } from '../delivery/send-window.js';
import type { DeliveryJobData } from '../delivery/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { DeliveryRecord, OrderRecords, RecordListener } from '../orders/record.js';
import type { RedisConnection } from '../queues/connection.js';
import { deliveryQueueOf, JOB_NAMES, QUEUES } from '../queues/names.js';
import { deliveryJobOptions, queueAt, retention } from '../queues/options.js';
import { openQueue } from '../queues/open-queue.js';
import type { Logger } from '../runtime/logger.js';
import type { Tracing } from '../observability/tracing.js';
import { isVendorName, type VendorName } from '../vendors/registry.js';
import { ChainStore, type ChainEvent, type ChainVerdict, type Membership } from './store.js';

export interface FallbackChainsDeps {
  config: AppConfig;
  connection: RedisConnection;
  records: OrderRecords;
  metrics: Metrics;
  logger: Logger;
  /** The clock quiet hours are read with (tests move it; BullMQ delays stay relative, so they stay right). */
  now?: () => number;
  /** How long a decision to fire may take before the sweep finishes it (default FIRE_LEASE_MS). */
  fireLeaseMs?: number;
  /** A fired link's job carries the trace context of what fired it (like the fan-out's jobs). */
  tracing?: Pick<Tracing, 'telemetry'>;
}

export interface DeadlineJobData { orderId: string; deliveryId: string; ruleId: string; afterMs: number }

/**
 * Fallback chains at run time. It listens to the order record: when a link reaches a final status (from the
 * delivery worker or the Twin24 correlator) or is reached, the chain store decides once, atomically, what that
 * means; this class then does it (fire the next link, arm an `after` check, record the story, count it).
 */
export class FallbackChains {
  readonly store: ChainStore;
  private readonly queues = new Map<string, Queue>();
  private readonly logger: Logger;
  readonly now: () => number;

  constructor(private readonly deps: FallbackChainsDeps) {
    this.store = new ChainStore(deps.connection, deps.config.keys.beside(QUEUES.fallbackDeadlines), deps.config.orderRetentionMs, deps.fireLeaseMs);
    this.logger = deps.logger.child({ component: 'fallback' });
    this.now = deps.now ?? Date.now;
  }

  /**
   * The record listener. Wraps the next listener (the hand-back) so each change of a chain member reaches the
   * monolith with its place in the chain.
   */
  listener(next?: RecordListener): RecordListener {
    return async (change) => {
      const { orderId, delivery } = change;
      // The record script says whether the delivery is a chain link: the others cost no chain lookup at all.
      if (delivery.status === undefined || change.chainMember === false) return next?.(change);
      const verdict = await this.onChange(orderId, delivery);
      if (!verdict) return next?.(change);
      const m = verdict.member;
      return next?.({ ...change, delivery: {
        ...delivery,
        chain: { head: m.head, link: m.link, ...(m.firedBecause ? { firedBecause: m.firedBecause } : {}), ...(m.next ? { next: m.next } : {}) },
        ...(m.fallbackTo ? { fallbackTo: m.fallbackTo } : {}),
        ...(m.reachedCustomer ? { reachedCustomer: true } : {}),
        ...(m.lateDelivery ? { lateDelivery: true } : {}),
      } });
    };
  }

  /** A status change of one delivery → its chain's decision, carried out. */
  async onChange(orderId: string, d: Pick<DeliveryRecord, 'deliveryId' | 'ruleId' | 'status' | 'vendorStatus' | 'reason'>): Promise<ChainVerdict | undefined> {
    const { event, reason } = chainEvent(d);
    const verdict = await this.store.event(orderId, d.deliveryId, event, reason);
    if (verdict) await this.carryOut(orderId, verdict);
    return verdict;
  }

  /** The `after` check came due: fall back unless the link was delivered (or the chain moved on) meanwhile. */
  async onDeadline(job: DeadlineJobData): Promise<ChainVerdict['action'] | 'unknown'> {
    const reason = `${job.ruleId}: not confirmed delivered within ${formatMs(job.afterMs)} of sending`;
    const verdict = await this.store.event(job.orderId, job.deliveryId, 'deadline', reason);
    if (!verdict) return 'unknown';
    await this.carryOut(job.orderId, verdict);
    return verdict.action;
  }

  private async carryOut(orderId: string, v: ChainVerdict): Promise<void> {
    const m = v.member;
    const identity = { vendor: m.vendor, ruleId: m.rule };
    const { records, metrics } = this.deps;
    switch (v.action) {
      case 'fire':
        await records.update(orderId, m.deliveryId, { ...identity, fallbackTo: v.next.rule });
        await this.fire(orderId, m.deliveryId, v.next, v.nextStep.job, v.nextStep.delayMs);
        break;
      case 'arm':
        await this.deadlineQueue().add(JOB_NAMES.fallbackDeadline, { orderId, deliveryId: m.deliveryId, ruleId: m.rule, afterMs: m.afterMs! } satisfies DeadlineJobData, {
          jobId: `deadline.${m.deliveryId}`, delay: m.afterMs,
        });
        break;
      // Counted before the record write: the script answers these once, so a retried write does not count twice.
      case 'reached':
      case 'late_reached':
        metrics.fallbacks.inc({ rule: m.rule, outcome: 'reached' });
        if (v.action === 'late_reached') this.late(orderId, m);
        await records.update(orderId, m.deliveryId, { ...identity, reachedCustomer: true, ...(v.action === 'late_reached' ? { lateDelivery: true } : {}) });
        break;
      case 'late':
        this.late(orderId, m);
        await records.update(orderId, m.deliveryId, { ...identity, lateDelivery: true });
        break;
      case 'exhausted':
        metrics.fallbacks.inc({ rule: m.head, outcome: 'exhausted' });
        this.logger.warn({ orderId, chain: m.head, last: m.rule }, 'every link of the fallback chain ended without reaching the customer');
        break;
      default:
        break;
    }
  }

  /**
   * Finishes decisions to fire whose process died before adding the job (run by the fan-out's sweep). Returns how
   * many were fired now.
   */
  async sweep(): Promise<number> {
    let fired = 0;
    for (const { orderId, deliveryId } of await this.store.overdueFires()) {
      const verdict = await this.store.event(orderId, deliveryId, 'failed', '');
      if (verdict?.action === 'fire') {
        await this.carryOut(orderId, verdict);
        fired++;
        this.logger.warn({ orderId, rule: verdict.next.rule }, 'fired a fallback whose first decider died before adding it');
      } else {
        await this.store.dropPending(orderId, deliveryId); // added meanwhile, or the chain closed
      }
    }
    return fired;
  }

  private late(orderId: string, m: Membership): void {
    this.deps.metrics.lateDeliveries.inc({ rule: m.rule });
    this.logger.warn({ orderId, chain: m.head, rule: m.rule, fallbackTo: m.fallbackTo },
      'delivered after its fallback was fired: the customer may get two messages');
  }

  /** Record first, then the job (as the fan-out does), then mark it added: a crash in between is finished by a re-run. */
  private async fire(orderId: string, from: string, next: Membership, job: DeliveryJobData, delayMs: number): Promise<void> {
    const now = this.now();
    const held = queueDelay(job.deliveryId, job.sendWindow, delayMs, now);
    await this.deps.records.initDelivery(orderId, job.deliveryId, {
      vendor: next.vendor, ruleId: next.rule, status: held.scheduledFor ? 'scheduled' : 'queued', createdAt: new Date(now).toISOString(),
      chain: { head: next.head, link: next.link, ...(next.firedBecause ? { firedBecause: next.firedBecause } : {}), ...(next.next ? { next: next.next } : {}) },
      ...(held.scheduledFor ? { scheduledFor: held.scheduledFor } : {}),
    });
    if (!isVendorName(next.vendor)) throw new Error(`fallback ${next.rule} names unknown vendor ${next.vendor}`);
    await this.deliveryQueue(next.vendor, job.deliveryId).add(JOB_NAMES.delivery, job, { jobId: job.deliveryId, delay: held.delayMs > 0 ? held.delayMs : undefined });
    await this.store.markEnqueued(orderId, next.head, next.step, from);
    this.deps.metrics.fallbacks.inc({ rule: next.rule, outcome: 'fired' });
    if (held.scheduledFor) this.deps.metrics.heldByQuietHours.inc({ vendor: next.vendor });
    this.logger.info({ orderId, chain: next.head, rule: next.rule, because: next.firedBecause, scheduledFor: held.scheduledFor }, 'fallback fired');
  }

  /** The vendor's delivery queue, or the partition the delivery belongs to (the fan-out picks the same one). */
  private deliveryQueue(vendor: VendorName, deliveryId: string): Queue {
    const name = deliveryQueueOf(vendor, deliveryId, this.deps.config.partitions[vendor]);
    return this.queue(name, () => deliveryJobOptions(this.deps.config));
  }

  deadlineQueue(): Queue {
    return this.queue(QUEUES.fallbackDeadlines, () => ({ attempts: 5, backoff: { type: 'exponential', delay: 1_000 }, ...retention(this.deps.config) }));
  }

  private queue(name: string, options: () => object): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = openQueue(name, {
        connection: this.deps.connection, ...queueAt(this.deps.config.keys, name), defaultJobOptions: options(), telemetry: this.deps.tracing?.telemetry,
      }, this.logger);
      this.queues.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}

const FAILURES = new Set(['failed', 'undelivered', 'error', 'expired']);

/** How a record change reads for a chain. A Twin24 message that timed out after DELIVERED did reach the customer. */
export function chainEvent(d: Pick<DeliveryRecord, 'ruleId' | 'status' | 'vendorStatus' | 'reason'>): { event: ChainEvent; reason: string } {
  const delivered = d.vendorStatus?.toUpperCase() === 'DELIVERED';
  const because = `${d.ruleId}: ${d.status}${d.vendorStatus ? ` (${d.vendorStatus})` : ''}${d.reason ? ` - ${d.reason}` : ''}`;
  if (d.status === 'correlated' || (delivered && (d.status === 'sent' || d.status === 'timed_out'))) return { event: 'delivered', reason: '' };
  if (FAILURES.has(d.status) || d.status === 'timed_out') return { event: 'failed', reason: because };
  // Arming `after` again on the correlator's progress (PENDING, …) is harmless: the check's job id is fixed.
  if (d.status === 'sent') return { event: 'sent', reason: '' };
  return { event: 'look', reason: '' };
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
