import type { Job, Queue, Worker } from 'bullmq';
import { invalidJob } from '../delivery/outcome.js';
import { issuesText } from '../events/zod-issues.js';
import type { AppConfig } from '../config/env.js';
import type { Route } from './routes.js';
import { orderPaidSchema } from '../events/order-paid.js';
import type { Metrics } from '../observability/metrics.js';
import type { OrderRecords } from '../orders/record.js';
import type { RedisConnection } from '../queues/connection.js';
import { deliveryQueueNames, deliveryQueueOf, JOB_NAMES, QUEUES } from '../queues/names.js';
import { deliveryJobOptions, lockOptions, queueAt, workerAt } from '../queues/options.js';
import { addJobs, type JobToAdd } from '../queues/add-jobs.js';
import { deliveryId } from '../queues/job-ids.js';
import { closeWorker } from '../runtime/close-worker.js';
import type { Logger } from '../runtime/logger.js';
import { enabledVendors, VENDORS, type VendorName } from '../vendors/registry.js';
import { planFanout, type RulePlan } from './plan.js';
import { planChains, type ChainPlan } from './chains.js';
import { queueDelay } from '../delivery/send-window.js';
import type { ChainPosition, DeliveryPatch, ReceivedOrder } from '../orders/record.js';
import { coalescing } from '../runtime/coalesce.js';
import { ChainStore, type Membership } from '../fallback/store.js';
import { openQueue, openWorker } from '../queues/open-queue.js';
import { NO_TRACING, type Tracing } from '../observability/tracing.js';

export interface FanoutDeps {
  config: AppConfig;
  routes: Route[];
  connection: RedisConnection;
  records: OrderRecords;
  metrics: Metrics;
  logger: Logger;
  autorun?: boolean;
  tracing?: Tracing;
  /** The clock quiet hours are read with (default Date.now). */
  now?: () => number;
}

export interface FanoutResult {
  queued: string[];
  skipped: Array<{ rule: string; reason: string }>;
  rejected: Array<{ rule: string; reason: string }>;
}

/**
 * Consumes `orders`: every rule × the event → one delivery job per rule in the vendor's queue. Job ids are
 * deterministic (rule + order), so a retried fan-out re-adds the same ids and BullMQ keeps one job each.
 * A rule whose message breaks a vendor limit is recorded as rejected and the other rules still go out.
 */
export function createFanoutWorker(deps: FanoutDeps): { worker: Worker; close(timeoutMs?: number): Promise<void> } {
  const { config, routes, connection, records, metrics } = deps;
  const logger = deps.logger.child({ worker: 'fanout' });
  const enabled = new Set<string>(enabledVendors(config.vendors));
  const tracing = deps.tracing ?? NO_TRACING;
  // With tracing on, BullMQ carries the order's trace context into each delivery job it adds here.
  const telemetry = tracing.telemetry;
  const chainStore = new ChainStore(connection, config.keys.beside(QUEUES.fallbackDeadlines), config.orderRetentionMs);
  const windows = { timeZone: config.sendWindow.defaultTimeZone, spreadMs: config.sendWindow.spreadMs };
  const clock = deps.now ?? Date.now;
  // Every vendor's delivery queue, or each of its partitions (QUEUE_PARTITIONS), by queue name.
  const deliveryQueues = new Map<string, Queue>(VENDORS.flatMap((v) => deliveryQueueNames(v, config.partitions[v]).map((name) => [
    name, openQueue(name, { connection, ...queueAt(config.keys, name), defaultJobOptions: deliveryJobOptions(config), telemetry }, logger),
  ] as const)));

  /** A vendor's delivery jobs, each into its queue or partition (a stable hash of its id: a retried fan-out picks the same). */
  async function addDeliveries(vendor: VendorName, jobs: Array<JobToAdd & { opts: { jobId: string } }>): Promise<void> {
    const byQueue = new Map<string, typeof jobs>();
    for (const job of jobs) {
      const name = deliveryQueueOf(vendor, job.opts.jobId, config.partitions[vendor]);
      byQueue.set(name, [...(byQueue.get(name) ?? []), job]);
    }
    // Traced, each order adds its own jobs: BullMQ stamps a job with the trace of the call that adds it.
    await Promise.all([...byQueue].map(([name, list]) => (tracing.enabled ? addJobs(deliveryQueues.get(name)!, list).then(() => undefined) : adderOf(name)(list))));
  }

  /** Per delivery queue, the concurrent fan-outs' jobs go out in one addBulk (group commit, runtime/coalesce.ts). */
  const adders = new Map<string, (jobs: JobToAdd[]) => Promise<void>>();
  function adderOf(name: string): (jobs: JobToAdd[]) => Promise<void> {
    let add = adders.get(name);
    if (!add) {
      const queue = deliveryQueues.get(name)!;
      add = coalescing(async (lists: JobToAdd[][]) => { await addJobs(queue, lists.flat()); }, 100);
      adders.set(name, add);
    }
    return add;
  }

  // The concurrent fan-outs of this worker share one record-script call (group commit, runtime/coalesce.ts).
  const receive = coalescing((orders: ReceivedOrder[]) => records.receiveOrders(orders), 200);

  function process(job: Job): Promise<FanoutResult> {
    return tracing.span('fanout', { attributes: { 'order_notify.order_id': typeof job.data?.orderId === 'string' ? job.data.orderId : undefined } }, async (span) => {
      const result = await fanOut(job);
      span.setAttributes({ 'order_notify.queued': result.queued.length, 'order_notify.skipped': result.skipped.length, 'order_notify.rejected': result.rejected.length });
      return result;
    });
  }

  async function fanOut(job: Job): Promise<FanoutResult> {
    const parsed = orderPaidSchema.safeParse(job.data);
    if (!parsed.success) {
      throw invalidJob(job, issuesText(parsed.error, { root: '(event)' }));
    }
    const event = parsed.data;
    // The job's own timestamp, not now: a retried fan-out renders the very same deliveries.
    const plans = planFanout(event, routes, enabled, new Date(job.timestamp), windows);
    const chains = planChains(event, plans, routes, enabled, new Date(job.timestamp), windows);
    // The chain state exists before any of its links can report.
    for (const chain of chains) await initChain(event.orderId, chain);

    // A chain head's plan stands for its chain: the first link that can be sent goes out now, the others are
    // recorded when they fire; links that cannot be sent are recorded now (skipped or rejected, with the reason).
    const now = clock();
    const toRecord: Array<{ plan: RulePlan; position?: ChainPosition }> = plans.flatMap((plan) => {
      const chain = chains.find((c) => c.head === plan.route.id);
      if (!chain) return [{ plan }];
      return chain.links.filter((l) => l.plan.kind !== 'deliver' || l.position.link === chain.steps[0]?.position.link);
    });
    const result: FanoutResult = { queued: [], skipped: [], rejected: [] };
    const byVendor = new Map<VendorName, Array<{ plan: Extract<RulePlan, { kind: 'deliver' }>; delayMs: number }>>();
    const writes: Array<{ deliveryId: string; patch: DeliveryPatch }> = [];
    for (const { plan, position } of toRecord) {
      const held = plan.kind === 'deliver' ? queueDelay(plan.job.deliveryId, plan.job.sendWindow, plan.delayMs, now) : undefined;
      writes.push(recordPlan(event.orderId, plan, result, position, held?.scheduledFor));
      if (plan.kind !== 'deliver') continue;
      if (held?.scheduledFor) metrics.heldByQuietHours.inc({ vendor: plan.route.vendor });
      byVendor.set(plan.route.vendor, [...(byVendor.get(plan.route.vendor) ?? []), { plan, delayMs: held!.delayMs }]);
    }
    // The records are written before the jobs exist, so the delivery worker's "sent" can never be overwritten: the
    // order and all its deliveries in one script call (per key prefix), links that may fire later listed with them.
    const laterLinks = chains.flatMap((c) => c.steps.map((st) => records.groupOf(st.plan.route.vendor, st.plan.job.deliveryId)));
    await receive({ orderId: event.orderId, at: new Date(job.timestamp), deliveries: writes, extraGroups: laterLinks });
    await Promise.all([...byVendor].map(([vendor, list]) => addDeliveries(vendor, list.map(({ plan: p, delayMs }) => ({
      name: JOB_NAMES.delivery, data: p.job, opts: { jobId: p.job.deliveryId, delay: delayMs > 0 ? delayMs : undefined },
    })))));
    logger.info({ orderId: event.orderId, queued: result.queued.length, skipped: result.skipped.length, rejected: result.rejected.length }, 'order fanned out');
    return result;
  }

  async function initChain(orderId: string, chain: ChainPlan): Promise<void> {
    if (!chain.steps.length) return;
    const members: Membership[] = chain.steps.map((s) => ({
      ...s.position, step: s.step, rule: s.plan.route.id, vendor: s.plan.route.vendor, deliveryId: s.plan.job.deliveryId, reports: s.reports,
      ...(s.afterMs ? { afterMs: s.afterMs } : {}),
    }));
    await chainStore.init(orderId, chain.head, members, chain.steps.map((s) => ({ job: s.plan.job, delayMs: s.plan.delayMs })));
  }

  /** The first record write of a rule's plan (queued or scheduled, skipped or rejected with the reason). */
  function recordPlan(orderId: string, plan: RulePlan, result: FanoutResult, chain?: ChainPosition, scheduledFor?: string): { deliveryId: string; patch: DeliveryPatch } {
    const { route } = plan;
    const base = { vendor: route.vendor, ruleId: route.id, ...(chain ? { chain } : {}) };
    metrics.fanoutRules.inc({ vendor: route.vendor, outcome: plan.kind === 'deliver' ? 'queued' : plan.kind });
    if (plan.kind === 'deliver') {
      result.queued.push(plan.job.deliveryId);
      return { deliveryId: plan.job.deliveryId, patch: {
        ...base, status: scheduledFor ? 'scheduled' : 'queued', createdAt: plan.job.createdAt, ...(scheduledFor ? { scheduledFor } : {}),
      } };
    }
    (plan.kind === 'skipped' ? result.skipped : result.rejected).push({ rule: route.id, reason: plan.reason });
    if (plan.kind === 'rejected') logger.warn({ orderId, rule: route.id, vendor: route.vendor, reason: plan.reason }, 'rule rejected for this order');
    return { deliveryId: deliveryId(orderId, route.id), patch: { ...base, status: plan.kind, reason: plan.reason } };
  }

  const worker = openWorker(QUEUES.orders, process, {
    connection, ...workerAt(config.keys, QUEUES.orders), concurrency: config.fanoutConcurrency, autorun: deps.autorun ?? true, telemetry, ...lockOptions(config),
  }, logger);
  return {
    worker,
    async close(timeoutMs = config.shutdownTimeoutMs) {
      await closeWorker(worker, timeoutMs, logger);
      await Promise.all([...deliveryQueues.values()].map((q) => q.close()));
    },
  };
}
