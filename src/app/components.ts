import type { AppConfig } from '../config/env.js';
import { loadRoutesFile } from '../fanout/routes.js';
import { createVendorDeliveryWorker } from './delivery-worker.js';
import { createFanoutWorker } from '../fanout/worker.js';
import { createResultsHandback, recordsFor } from '../orders/handback.js';
import { FallbackChains } from '../fallback/chains.js';
import { createDeadlineWorker } from '../fallback/deadline-worker.js';
import { createSendGate } from '../fallback/send-gate.js';
import { createWebhookWorker } from '../orders/webhook.js';
import type { Metrics } from '../observability/metrics.js';
import type { OrderRecords } from '../orders/record.js';
import type { RedisConnection } from '../queues/connection.js';
import { enabledVendors, isVendorName, vendorComponents, VENDORS } from '../vendors/registry.js';
import type { Logger } from '../runtime/logger.js';
import type { Tracing } from '../observability/tracing.js';

/** The processes a deployment can run; `all` is every one of them in one process (laptop, out of the box). */
export const WORKER_COMPONENTS: readonly string[] = ['fanout', ...VENDORS, ...vendorComponents().map((c) => c.name), 'results-webhook', 'outbox-relay'];
export type ComponentName = string;

export interface RunningComponent {
  name: string;
  close(timeoutMs: number): Promise<void>;
  /** Throws while the component cannot do its work beyond Redis being away (the outbox relay's database). */
  ready?(): Promise<void>;
}

export interface ComponentDeps {
  config: AppConfig;
  connection: RedisConnection;
  metrics: Metrics;
  logger: Logger;
  records?: OrderRecords;
  /** The process's tracing (off by default): handed to every queue, worker and vendor call. */
  tracing?: Tracing;
  /** The clock quiet hours are read with (tests move it); default Date.now. */
  now?: () => number;
}

/** Starts the named components on one shared worker connection; the one place that knows how to build each. */
export async function startComponents(names: readonly string[], deps: ComponentDeps): Promise<RunningComponent[]> {
  const running: RunningComponent[] = [];
  let records = deps.records;
  let chains: FallbackChains;
  if (!records) {
    // Every status change any component records is handed back to the monolith (results queue, webhook), with its
    // place in a fallback chain; the chain listener also fires the next link when one ends without reaching.
    records = recordsFor(deps.config, deps.connection);
    chains = new FallbackChains({ ...deps, records });
    const handback = createResultsHandback({ config: deps.config, connection: deps.connection, logger: deps.logger, metrics: deps.metrics, records });
    records.onChange(chains.listener(handback.listener));
    running.push({ name: 'results-handback', close: () => handback.close() });
  } else {
    chains = new FallbackChains({ ...deps, records });
    records.onChange(chains.listener());
  }
  running.push({ name: 'fallback-chains', close: () => chains.close() });
  const gate = createSendGate({ store: chains.store, metrics: deps.metrics, now: deps.now });
  const full = { ...deps, records };
  const enabled = new Set(enabledVendors(deps.config.vendors));
  try {
    for (const name of names) await startOne(name);
  } catch (e) {
    // A half-started process must not keep consuming jobs with the parts that did start.
    await Promise.allSettled(running.map((c) => c.close(5_000)));
    throw e;
  }
  return running;

  async function startOne(name: string): Promise<void> {
    if (name === 'fanout') {
      const routes = loadRoutesFile(deps.config.routesFile);
      const fanout = createFanoutWorker({ ...full, routes });
      // The `after` checks of fallback chains run beside the fan-out, which every deployment has.
      const deadlines = createDeadlineWorker({ ...full, chains });
      running.push({ name, close: async (t) => { await Promise.all([fanout.close(t), deadlines.close(t)]); } });
    } else if (isVendorName(name)) {
      if (!enabled.has(name)) {
        const missing = deps.config.disabledVendors.find((d) => d.vendor === name)?.missing ?? [];
        deps.logger.warn({ vendor: name, missing }, `${name} is disabled: no credentials (set ${missing.join(', ')})`);
        return;
      }
      const delivery = createVendorDeliveryWorker({ ...full, vendor: name, gate });
      running.push({ name, close: (t) => delivery.close(t) });
    } else if (vendorComponents().some((c) => c.name === name)) {
      // A part a vendor adds besides its delivery worker (Twin24's correlator): the vendor's folder says how to build it.
      const { component } = vendorComponents().find((c) => c.name === name)!;
      const disabled = component.disabledReason(deps.config);
      if (disabled) {
        deps.logger.warn({ component: name }, disabled);
        return;
      }
      const started = await component.start(full);
      running.push({ name, close: (t) => started.close(t) });
    } else if (name === 'results-webhook') {
      if (!deps.config.results.webhookUrl) {
        deps.logger.info({ component: name }, 'results-webhook is off: RESULTS_WEBHOOK_URL is not set');
        return;
      }
      const webhook = createWebhookWorker(full);
      running.push({ name, close: (t) => webhook.close(t) });
    } else if (name === 'outbox-relay') {
      const outbox = deps.config.outbox;
      if (!outbox) {
        deps.logger.info({ component: name }, 'outbox-relay is off: OUTBOX_DATABASE_URL is not set');
        return;
      }
      // Loaded only here: the database drivers stay out of every other process.
      const { startOutboxRelay } = await import('../outbox/component.js');
      const relay = await startOutboxRelay({ config: { ...deps.config, outbox }, metrics: deps.metrics, logger: deps.logger, tracing: deps.tracing });
      running.push({ name, close: (t) => relay.close(t), ready: () => relay.ready() });
    } else {
      throw new Error(`unknown component "${name}" (known: ${WORKER_COMPONENTS.join(', ')})`);
    }
    deps.logger.info({ component: name }, 'started');
  }
}
