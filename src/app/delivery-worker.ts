import { createDeliveryWorker, type DeliveryWorker, type DeliveryWorkerDeps } from '../delivery/worker.js';
import type { VendorAdapter } from '../delivery/types.js';
import { withVendorCallSpans } from '../delivery/vendor-call-spans.js';
import { NO_TRACING } from '../observability/tracing.js';
import { createVendorHttp } from '../http-client/instance.js';
import { vendorDefinition, type VendorName } from '../vendors/registry.js';
import { vendorGroup } from '../queues/names.js';

export type { DeliveryWorker };

export type VendorDeliveryWorkerDeps = Omit<DeliveryWorkerDeps, 'definition' | 'adapter'> & {
  vendor: VendorName;
  /** Tests may plug an adapter in; normally built from the vendor's definition. */
  adapter?: VendorAdapter<unknown>;
};

/**
 * The composition root's half of a delivery worker: it looks the vendor up in the registry and builds its adapter
 * (with the one outbound HTTP client and the call metrics), so the generic worker in delivery/ knows no vendor.
 */
export function createVendorDeliveryWorker(deps: VendorDeliveryWorkerDeps): DeliveryWorker {
  const { vendor, config, connection, metrics } = deps;
  const definition = vendorDefinition(vendor);
  const vendorConfig = definition.configFrom(config.vendors);
  if (vendorConfig === undefined && !deps.adapter) throw new Error(`${vendor} is disabled: its credentials are not configured`);
  const adapter = deps.adapter ?? definition.createAdapter({
    config: vendorConfig!, redis: connection, prefix: config.keys.beside(vendorGroup(vendor)),
    http: createVendorHttp({ deadlineMs: config.delivery.vendorTimeoutMs, maxResponseBytes: config.delivery.maxResponseBytes }),
    logger: deps.logger.child({ vendor }), metrics: withVendorCallSpans(metrics, deps.tracing ?? NO_TRACING),
  });
  return createDeliveryWorker({ ...deps, definition, adapter });
}
