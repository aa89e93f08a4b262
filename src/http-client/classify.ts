import { isAxiosError } from 'axios';
import {
  PermanentVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError,
} from '../delivery/errors.js';

/** Retry-After is seconds or an HTTP date; returns milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(String(value));
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The HTTP-level part of the taxonomy, shared by all vendors: no answer or 5xx → retryable, 429 → rate-limited,
 * other 4xx → permanent. A vendor classifies its own codes first and falls back to this.
 */
export function classifyHttpFailure(err: unknown, vendor: string, vendorMessage?: string): VendorError {
  if (!isAxiosError(err)) {
    return new RetryableVendorError(err instanceof Error ? err.message : String(err), { vendor }, { cause: err });
  }
  const status = err.response?.status;
  if (status === undefined) {
    // Timeout, refused or reset connection: the request may not have arrived; safe to retry.
    return new RetryableVendorError(`no answer (${err.code ?? err.message})`, { vendor }, { cause: err });
  }
  const text = vendorMessage ?? `HTTP ${status}`;
  if (status === 429) {
    return new RateLimitedVendorError(text, { vendor, status, code: 429 }, parseRetryAfter(err.response?.headers?.['retry-after']));
  }
  if (status >= 500 || status === 408) return new RetryableVendorError(text, { vendor, status, code: status });
  return new PermanentVendorError(text, { vendor, status, code: status });
}
