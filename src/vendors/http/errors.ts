import { isAxiosError } from 'axios';
import { PermanentVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError } from '../../delivery/errors.js';
import { parseRetryAfter } from '../../http-client/classify.js';

export const VENDOR = 'http';

/** A short, printable excerpt of the gateway's answer, so the failed-job reason says what it said. */
function excerpt(data: unknown): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data ?? '');
  return text.replace(/[\u0000-\u001f]+/g, ' ').slice(0, 200);
}

/** By status only (the gateway is ours, its codes are not known): 429 → rate-limited, listed → retry, else permanent. */
export function httpVendorFailure(status: number, data: unknown, retryStatuses: readonly number[], retryAfter?: unknown): VendorError {
  const msg = excerpt(data) || `HTTP ${status}`;
  const details = { vendor: VENDOR, status, code: status };
  if (status === 429) return new RateLimitedVendorError(msg, details, parseRetryAfter(retryAfter));
  if (retryStatuses.includes(status)) return new RetryableVendorError(msg, details);
  return new PermanentVendorError(`${msg} (HTTP ${status} is not in HTTP_VENDOR_RETRY_STATUSES: not retried)`, details);
}

/** No answer (timeout, refused, reset): retryable. The axios error (it holds the signed request) is not kept. */
export function httpVendorNoAnswer(err: unknown): VendorError {
  const why = isAxiosError(err) ? (err.code ?? err.message) : err instanceof Error ? err.message : String(err);
  return new RetryableVendorError(`no answer (${why})`, { vendor: VENDOR });
}
