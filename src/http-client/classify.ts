import { isAxiosError } from 'axios';
import {
  PermanentVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError,
} from '../delivery/errors.js';
import { HttpStatusError, NoAnswerError, type HttpAnswer } from './request.js';

/** Retry-After is seconds or an HTTP date; returns milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(String(value));
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The answer inside a failure, whatever shape it came in: an HttpAnswer itself, an HttpStatusError, or (for code
 * still on axios' throwing style) an axios error with a response. Undefined when there was no answer.
 */
export function answerOf(failure: unknown): HttpAnswer | undefined {
  if (failure instanceof HttpStatusError) return failure.answer;
  if (isAxiosError(failure)) {
    const res = failure.response;
    return res ? { status: res.status, headers: res.headers as HttpAnswer['headers'], data: res.data } : undefined;
  }
  if (typeof failure === 'object' && failure !== null && typeof (failure as HttpAnswer).status === 'number' && 'data' in failure && 'headers' in failure) {
    return failure as HttpAnswer;
  }
  return undefined;
}

/** No answer (deadline, size cap, refused, reset): the request may not have arrived; safe to retry. Keeps no cause. */
export function classifyNoAnswer(failure: unknown, target: string, what?: string): RetryableVendorError {
  const why = failure instanceof NoAnswerError || isAxiosError(failure)
    ? (failure.code ?? failure.message)
    : failure instanceof Error ? failure.message : String(failure);
  return new RetryableVendorError(`${what ? `${what}: ` : ''}no answer (${why})`, { vendor: target });
}

/**
 * The generic status table, shared by every outbound call: 429 → rate-limited (Retry-After honoured), 5xx and 408
 * → retryable, any other status → permanent. A vendor's errors.ts handles its own codes first (MantaGO's 1004,
 * Twin24's 401/402, JoinChat's body codes) and falls back to this with its own text and code.
 */
export function classifyStatus(answer: HttpAnswer, target: string, vendor: { message?: string; code?: string | number } = {}): VendorError {
  const { status } = answer;
  const text = vendor.message ?? `HTTP ${status}`;
  const code = vendor.code ?? status;
  if (status === 429 || String(code) === '429') {
    return new RateLimitedVendorError(text, { vendor: target, status, code }, parseRetryAfter(answer.headers['retry-after']));
  }
  if (status >= 500 || status === 408) return new RetryableVendorError(text, { vendor: target, status, code });
  return new PermanentVendorError(text, { vendor: target, status, code });
}

/** Any failure of an outbound call onto the taxonomy: no answer → retryable; an answer → the status table. */
export function classifyHttpFailure(failure: unknown, target: string, vendorMessage?: string): VendorError {
  const answer = answerOf(failure);
  if (!answer) return classifyNoAnswer(failure, target);
  return classifyStatus(answer, target, { message: vendorMessage });
}
