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

export abstract class VendorError extends Error {
  abstract readonly kind: VendorErrorKind;
  readonly vendor: string;
  readonly code?: string | number;
  readonly status?: number;
  constructor(message: string, details: VendorErrorDetails, options?: { cause?: unknown }) {
    // The message is what lands on the dashboard's failed job: vendor, code and the vendor's text.
    super(`${details.vendor}${details.code !== undefined ? ` ${details.code}` : ''}: ${message}`, options);
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
