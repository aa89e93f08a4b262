import type { Tracing } from '../observability/tracing.js';
import type { VendorCallMetrics } from './types.js';

/**
 * Every vendor HTTP call is already timed into the latency histogram by its client, under a fixed endpoint name
 * (`send_message`, `jobs/schedule`, …). With tracing on, the same observation also becomes a client span in the
 * active trace: vendor, endpoint and status only — never the URL's query, headers, body or recipient.
 */
export function withVendorCallSpans<M extends VendorCallMetrics>(metrics: M, tracing: Tracing): M {
  if (!tracing.enabled) return metrics;
  return Object.assign(Object.create(metrics) as M, {
    observeCall(vendor: string, endpoint: string, status: number | 'error', seconds: number): void {
      metrics.observeCall(vendor, endpoint, status, seconds);
      const endTime = Date.now();
      const failed = status === 'error' || status >= 400;
      tracing.recordSpan(`${vendor} ${endpoint}`, {
        kind: 'client',
        startTime: endTime - seconds * 1000,
        endTime,
        attributes: {
          'order_notify.vendor': vendor,
          'order_notify.vendor.endpoint': endpoint,
          ...(status === 'error' ? { 'error.type': 'connection' } : { 'http.response.status_code': status }),
        },
        error: failed ? (status === 'error' ? 'no answer (timeout or connection error)' : `HTTP ${status}`) : undefined,
      });
    },
  });
}
