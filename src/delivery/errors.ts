/**
 * The one error taxonomy every vendor maps its failures onto. The generic delivery worker maps these onto BullMQ
 * exactly once (delivery/outcome.ts); vendor code never talks to BullMQ and no worker matches error strings.
 */
export type VendorErrorKind = 'retryable' | 'rate_limited' | 'auth_expired' | 'permanent';

export interface VendorErrorDetails {
  vendor: string;
  /** The vendor's own error code (MantaGO 1004, JoinChat 10010, HTTP status when there is none). */
  code?: string | number;
  /** HTTP status, when there was an answer. */
  status?: number;
}

/** Longest vendor text kept in an error: it lands in logs, the failed job and the dashboard. */
export const MAX_VENDOR_TEXT = 500;

/** A vendor's own text, as we keep it: control characters out (they would reach a terminal), at most MAX_VENDOR_TEXT. */
export function vendorText(text: string): string {
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > MAX_VENDOR_TEXT ? `${clean.slice(0, MAX_VENDOR_TEXT)}…` : clean;
}

export abstract class VendorError extends Error {
  abstract readonly kind: VendorErrorKind;
  readonly vendor: string;
  readonly code?: string | number;
  readonly status?: number;
  constructor(message: string, details: VendorErrorDetails, options?: { cause?: unknown }) {
    // The message is what lands on the dashboard's failed job: vendor, code and the vendor's text.
    super(`${details.vendor}${details.code !== undefined ? ` ${vendorText(String(details.code)).slice(0, 64)}` : ''}: ${vendorText(message)}`, options);
    this.vendor = details.vendor;
    this.code = details.code;
    this.status = details.status;
  }
}

/** 5xx, timeouts, connection errors: try again later with backoff. */
export class RetryableVendorError extends VendorError {
  readonly kind = 'retryable' as const;
  override readonly name = 'RetryableVendorError';
}

/** 429: pause this vendor for retryAfterMs; does not use up an attempt. */
export class RateLimitedVendorError extends VendorError {
  readonly kind = 'rate_limited' as const;
  override readonly name = 'RateLimitedVendorError';
  constructor(message: string, details: VendorErrorDetails, readonly retryAfterMs?: number) {
    super(message, details);
  }
}

/** The credential expired: refresh it and retry at once. */
export class AuthExpiredVendorError extends VendorError {
  readonly kind = 'auth_expired' as const;
  override readonly name = 'AuthExpiredVendorError';
}

/** 4xx and the vendor's permanent codes: retrying cannot help; a person must act on the message. */
export class PermanentVendorError extends VendorError {
  readonly kind = 'permanent' as const;
  override readonly name = 'PermanentVendorError';
}

export function isVendorError(e: unknown): e is VendorError {
  return e instanceof VendorError;
}
