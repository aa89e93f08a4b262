import type { AxiosInstance } from 'axios';
import type { Logger } from 'pino';
import type { RedisConnection } from '../queues/connection.js';
import type { VendorError } from './errors.js';
import type { SendWindow } from './send-window.js';

/** What the fan-out puts in a vendor queue: one rendered message for one order and one rule. */
export interface DeliveryJobData<P = unknown> {
  deliveryId: string;
  orderId: string;
  ruleId: string;
  vendor: string;
  payload: P;
  /** ISO time the fan-out created the delivery. */
  createdAt: string;
  /** The route's policy when an earlier attempt's outcome is unknown (absent = resend). */
  onUnknownOutcome?: 'resend' | 'hold';
  /** An operator released this held delivery to be sent: the request id whose unknown outcome was accepted. */
  releasedAttempt?: string;
  /** A link of a fallback chain: `step` counts the links that can be sent (0 = the first one sent). */
  chain?: { head: string; link: number; step: number };
  /** Quiet hours, zone resolved: checked again right before sending. */
  sendWindow?: SendWindow;
}

/** A delivery as an adapter sees it (already validated). */
export interface Delivery<P> {
  deliveryId: string;
  orderId: string;
  ruleId: string;
  payload: P;
  /** The delivery's trace context when tracing is on (carried on to the Twin24 correlator). */
  trace?: string;
  /** Which attempt this is (1 = first), for the record written with the acknowledgement. */
  attempt?: number;
}

/** Per-delivery result of one vendor request. */
export type SendOutcome =
  | { ok: true; vendorMessageId?: string; details?: Record<string, unknown> }
  | { ok: false; error: VendorError };

/**
 * What a vendor adapter says; everything else (queue, limiter, batching, retries, ledger, metrics, logs) is generic.
 * `send` gets one request's worth of deliveries (one, or a batch sharing `batchKey`) and answers one outcome per
 * delivery in the same order. A failure of the whole request is thrown as a VendorError.
 */
export interface VendorAdapter<P> {
  /** Deliveries with the same key may share one vendor request; undefined means it always goes alone. */
  batchKey?(payload: P): string | undefined;
  /** Most deliveries in one request (1 = no batching). */
  readonly maxBatch: number;
  /** How long a lone delivery waits for companions before it goes out. */
  readonly lingerMs: number;
  send(batch: Array<Delivery<P>>): Promise<SendOutcome[]>;
  /** Called once per AuthExpiredVendorError (single-flight across replicas is the adapter's job); then send is retried. */
  refreshAuth?(): Promise<void>;
  /** After a delivery is acknowledged (ledger written): e.g. Twin24 records message ids for correlation. */
  afterAcknowledged?(delivery: Delivery<P>, outcome: Extract<SendOutcome, { ok: true }>): Promise<void>;
  close?(): Promise<void>;
}

/** What an adapter may use; built once per worker process. */
export interface AdapterContext<C> {
  config: C;
  /** A worker-role connection (shared credential stores, locks). */
  redis: RedisConnection;
  /** Queue prefix, so adapter keys live beside the queues (one hash slot with a {tag} prefix). */
  prefix: string;
  /** Axios with keep-alive agents and the vendor timeout. */
  http: AxiosInstance;
  logger: Logger;
  /** Every vendor HTTP call reports here (latency histogram, token refresh counter). */
  metrics: VendorCallMetrics;
}

export interface VendorCallMetrics {
  observeCall(vendor: string, endpoint: string, status: number | 'error', seconds: number): void;
  tokenRefreshed(vendor: string): void;
}
