import type { AppConfig } from '../config/env.js';
import { loadRoutesFile } from '../config/routes.js';
import { createDeliveryWorker } from '../delivery/worker.js';
import { createFanoutWorker } from '../fanout/worker.js';
import type { Metrics } from '../observability/metrics.js';
import { OrderRecords } from '../orders/record.js';
import type { RedisConnection } from '../queues/connection.js';
import { enabledVendors, isVendorName, VENDORS } from '../vendors/registry.js';
import type { Logger } from './logger.js';

/** The processes a deployment can run; `all` is every one of them in one process (laptop, out of the box). */
export const WORKER_COMPONENTS = ['fanout', ...VENDORS, 'twin24-correlator'] as const;
export type ComponentName = (typeof WORKER_COMPONENTS)[number];

export interface RunningComponent {
  name: string;
  close(timeoutMs: number): Promise<void>;
}

export interface ComponentDeps {
  config: AppConfig;
  connection: RedisConnection;
  metrics: Metrics;
  logger: Logger;
  records?: OrderRecords;
}

/** Starts the named components on one shared worker connection; the one place that knows how to build each. */
export async function startComponents(names: readonly string[], deps: ComponentDeps): Promise<RunningComponent[]> {
  const records = deps.records ?? new OrderRecords(deps.connection, deps.config.queuePrefix, deps.config.orderRetentionMs);
  const full = { ...deps, records };
  const enabled = new Set(enabledVendors(deps.config.vendors));
  const running: RunningComponent[] = [];
  for (const name of names) {
    if (name === 'fanout') {
      const routes = loadRoutesFile(deps.config.routesFile);
      const fanout = createFanoutWorker({ ...full, routes });
      running.push({ name, close: (t) => fanout.close(t) });
    } else if (isVendorName(name)) {
      if (!enabled.has(name)) {
        const missing = deps.config.disabledVendors.find((d) => d.vendor === name)?.missing ?? [];
        deps.logger.warn({ vendor: name, missing }, `${name} is disabled: no credentials (set ${missing.join(', ')})`);
        continue;
      }
      const delivery = createDeliveryWorker({ ...full, vendor: name });
      running.push({ name, close: (t) => delivery.close(t) });
    } else {
      throw new Error(`unknown component "${name}" (known: ${WORKER_COMPONENTS.join(', ')})`);
    }
    deps.logger.info({ component: name }, 'started');
  }
  return running;
}
