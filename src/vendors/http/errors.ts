import { PermanentVendorError, RetryableVendorError, type VendorError } from '../../delivery/errors.js';
import { classifyNoAnswer, classifyStatus } from '../../http-client/classify.js';
import type { HttpAnswer } from '../../http-client/request.js';

export const VENDOR = 'http';

/** A short, printable excerpt of the gateway's answer, so the failed-job reason says what it said. */
function excerpt(data: unknown): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data ?? '');
  return text.replace(/[\u0000-\u001f]+/g, ' ').slice(0, 200);
}

/** By status only (the gateway is ours, its codes are not known): 429 → rate-limited, listed → retry, else permanent. */
export function httpVendorFailure(answer: HttpAnswer, retryStatuses: readonly number[]): VendorError {
  const { status } = answer;
  const msg = excerpt(answer.data) || `HTTP ${status}`;
  const details = { vendor: VENDOR, status, code: status };
  // 429 as everywhere (shared table, Retry-After); which other statuses retry is this vendor's setting.
  if (status === 429) return classifyStatus(answer, VENDOR, { message: msg });
  if (retryStatuses.includes(status)) return new RetryableVendorError(msg, details);
  return new PermanentVendorError(`${msg} (HTTP ${status} is not in HTTP_VENDOR_RETRY_STATUSES: not retried)`, details);
}

/** No answer (timeout, refused, reset): retryable. The axios error (it holds the signed request) is not kept. */
export function httpVendorNoAnswer(err: unknown): VendorError {
  return classifyNoAnswer(err, VENDOR);
}
