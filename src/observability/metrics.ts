import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { VendorCallMetrics } from '../delivery/types.js';

/** Default metrics removed because their names break the `_total` rule; see the constructor. */
export const DROPPED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/**
 * Every metric the project exports, defined once. Each process has its own registry and exposes it on /metrics
 * (workers on METRICS_PORT, the API on HTTP_PORT). Names follow Prometheus conventions: snake_case, unit suffix,
 * _total for counters. Process metrics keep their standard unprefixed names (process_*, nodejs_*) so stock
 * Node.js dashboards work (minus the three in DROPPED_DEFAULT_METRICS).
 */
export class Metrics implements VendorCallMetrics {
  readonly registry: Registry;
  readonly deliveries: Counter<'vendor' | 'outcome'>;
  readonly vendorRequestSeconds: Histogram<'vendor' | 'endpoint' | 'status'>;
  readonly rateLimited: Counter<'vendor'>;
  readonly retries: Counter<'vendor'>;
  readonly tokenRefreshes: Counter<'vendor'>;
  readonly recipientsPerRequest: Histogram<'vendor'>;
  readonly correlations: Counter<'outcome'>;
  readonly eventsEnqueued: Counter<'source' | 'duplicate'>;
  readonly fanoutRules: Counter<'vendor' | 'outcome'>;
  readonly queueJobs: Gauge<'queue' | 'state'>;
  readonly queueJobsDue: Gauge<'queue'>;
  readonly queueOldestWaitingSeconds: Gauge<'queue'>;
  readonly vendorPausedSeconds: Gauge<'vendor'>;
  readonly correlationPending: Gauge;
  readonly correlationOldestPendingSeconds: Gauge;
  readonly redisUp: Gauge;
  readonly ingestRequests: Counter<'outcome'>;
  readonly unknownOutcomes: Counter<'vendor' | 'action'>;
  readonly sentNotRecorded: Counter<'vendor'>;
  readonly resultsTrimmed: Counter;
  readonly pendingSwept: Counter;
  readonly fallbacks: Counter<'rule' | 'outcome'>;
  readonly lateDeliveries: Counter<'rule'>;
  readonly heldByQuietHours: Counter<'vendor'>;
  private readonly scrapeHooks: Array<() => Promise<void>> = [];

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names three gauges `*_total`, which Prometheus reserves for counters (`promtool check metrics`
      // rejects them). They only sum the per-type gauges kept beside them: sum(nodejs_active_handles) is the same.
      for (const name of DROPPED_DEFAULT_METRICS) this.registry.removeSingleMetric(name);
    }
    this.deliveries = new Counter({ name: 'order_notify_deliveries_total', help: 'Deliveries finished, by vendor and outcome (sent, failed, duplicate_suppressed).', labelNames: ['vendor', 'outcome'], registers });
    this.vendorRequestSeconds = new Histogram({
      name: 'order_notify_vendor_request_duration_seconds', help: 'Vendor HTTP call latency.', labelNames: ['vendor', 'endpoint', 'status'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.rateLimited = new Counter({ name: 'order_notify_vendor_rate_limited_total', help: 'HTTP 429 answers from vendors.', labelNames: ['vendor'], registers });
    this.retries = new Counter({ name: 'order_notify_delivery_retries_total', help: 'Delivery attempts that failed and will be retried.', labelNames: ['vendor'], registers });
    this.tokenRefreshes = new Counter({ name: 'order_notify_token_refreshes_total', help: 'Vendor credential refreshes made by this process.', labelNames: ['vendor'], registers });
    this.recipientsPerRequest = new Histogram({
      name: 'order_notify_vendor_request_recipients', help: 'Deliveries carried by one vendor request (batching).', labelNames: ['vendor'], registers,
      buckets: [1, 2, 5, 10, 25, 50, 75, 100, 250, 500],
    });
    this.correlations = new Counter({ name: 'order_notify_correlation_outcomes_total', help: 'Twin24 messages reaching a final correlation state.', labelNames: ['outcome'], registers });
    this.eventsEnqueued = new Counter({ name: 'order_notify_events_enqueued_total', help: 'order.paid events accepted, by source and whether they were duplicates.', labelNames: ['source', 'duplicate'], registers });
    this.fanoutRules = new Counter({ name: 'order_notify_fanout_rules_total', help: 'Rule evaluations in the fan-out, by vendor and outcome (queued, skipped, rejected).', labelNames: ['vendor', 'outcome'], registers });
    this.queueJobs = new Gauge({ name: 'order_notify_queue_jobs', help: 'Jobs per queue and state, read from Redis at scrape time.', labelNames: ['queue', 'state'], registers });
    this.queueJobsDue = new Gauge({
      name: 'order_notify_queue_jobs_due', labelNames: ['queue'], registers,
      help: 'Jobs a worker should take within 60 s: waiting + prioritized + delayed due by then (the autoscaling signal).',
    });
    this.queueOldestWaitingSeconds = new Gauge({
      name: 'order_notify_queue_oldest_waiting_age_seconds', labelNames: ['queue'], registers,
      help: 'Age (since it was created) of the job at the head of the wait list, the next a worker takes; 0 when none waits. Read at scrape time.',
    });
    this.vendorPausedSeconds = new Gauge({
      name: 'order_notify_vendor_paused_seconds', labelNames: ['vendor'], registers,
      help: 'Time left of the pause a 429 put on this vendor (0 when not paused), read from Redis at scrape time.',
    });
    this.correlationPending = new Gauge({ name: 'order_notify_correlation_pending', help: 'Twin24 messages waiting for the correlator to reach a final state.', registers });
    this.correlationOldestPendingSeconds = new Gauge({
      name: 'order_notify_correlation_oldest_pending_age_seconds', registers,
      help: 'Time since the oldest pending Twin24 message was sent (0 when none is pending): how far the correlator is behind.',
    });
    this.redisUp = new Gauge({ name: 'order_notify_redis_up', help: '1 when the last scrape could read the queues from Redis, else 0.', registers });
    this.ingestRequests = new Counter({
      name: 'order_notify_ingest_requests_total', registers, labelNames: ['outcome'],
      help: 'POST /v1/events/order-paid answers by outcome (accepted, duplicate, invalid, unauthorized, too_large, unavailable).',
    });
    this.unknownOutcomes = new Counter({
      name: 'order_notify_unknown_outcomes_total', registers, labelNames: ['vendor', 'action'],
      help: 'Re-runs that found an earlier attempt with no known outcome, by what the route said: resent or held.',
    });
    this.sentNotRecorded = new Counter({
      name: 'order_notify_sent_not_recorded_total', registers, labelNames: ['vendor'],
      help: 'Deliveries the vendor acknowledged whose ledger entry could not be written within LEDGER_WRITE_RETRY (alert on any).',
    });
    this.resultsTrimmed = new Counter({ name: 'order_notify_results_trimmed_total', help: 'Oldest waiting results jobs removed because the queue was over RESULTS_QUEUE_MAX.', registers });
    this.pendingSwept = new Counter({ name: 'order_notify_twin24_pending_swept_total', help: 'Twin24 pending messages dropped by the age sweep (recorded timed_out).', registers });
    this.fallbacks = new Counter({
      name: 'order_notify_fallback_links_total', registers, labelNames: ['rule', 'outcome'],
      help: 'Fallback chain links by rule and outcome: fired (sent instead of the link before), reached (reached the customer), cancelled (an earlier link reached first), exhausted (rule = chain head; no link reached).',
    });
    this.lateDeliveries = new Counter({
      name: 'order_notify_fallback_late_deliveries_total', registers, labelNames: ['rule'],
      help: 'Links reported delivered after the next link of their chain had already been fired (the customer may have two messages).',
    });
    this.heldByQuietHours = new Counter({
      name: 'order_notify_quiet_hours_held_total', registers, labelNames: ['vendor'],
      help: 'Times a delivery was held in the queue because its send window was closed (at fan-out, or again right before sending).',
    });
  }

  /** Work to do right before each scrape (reading queue depths); a failing hook never hides the other metrics. */
  onScrape(hook: () => Promise<void>): void {
    this.scrapeHooks.push(hook);
  }

  /** The Prometheus text exposition, with scrape-time values refreshed first. */
  async scrape(): Promise<string> {
    await Promise.all(this.scrapeHooks.map((h) => h().catch(() => undefined)));
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  observeCall(vendor: string, endpoint: string, status: number | 'error', seconds: number): void {
    this.vendorRequestSeconds.observe({ vendor, endpoint, status: String(status) }, seconds);
  }

  tokenRefreshed(vendor: string): void {
    this.tokenRefreshes.inc({ vendor });
  }
}
