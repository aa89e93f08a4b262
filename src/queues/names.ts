/** Every queue of the project, in one place (the dashboard, metrics, KEDA and the CLI all list these). */
export const QUEUES = {
  orders: 'orders',
  correlate: 'twin24-correlate',
  results: 'results',
  webhook: 'results-webhook',
  /** Delayed "was it delivered by now?" checks of fallback chains (`after`); run by the fan-out component. */
  fallbackDeadlines: 'fallback-deadlines',
} as const;

/**
 * Each vendor has its own delivery queue and worker Deployment. Takes the vendor's name as a plain string: this
 * bottom layer knows no vendor (the producer imports it, and must not load vendor adapters or axios).
 */
export function deliveryQueueName(vendor: string): string {
  return `deliver-${vendor}`;
}

export const JOB_NAMES = {
  orderPaid: 'order.paid',
  delivery: 'delivery',
  correlateTick: 'twin24.correlate',
  orderNotification: 'order.notification',
  webhook: 'webhook.post',
  fallbackDeadline: 'fallback.deadline',
  fallbackSweep: 'fallback.sweep',
} as const;

/** Every queue, given the vendors (pass the registry's VENDORS). */
export function allQueueNames(vendors: readonly string[]): string[] {
  return [QUEUES.orders, ...vendors.map(deliveryQueueName), QUEUES.correlate, QUEUES.results, QUEUES.webhook, QUEUES.fallbackDeadlines];
}
