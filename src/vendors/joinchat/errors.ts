import { isAxiosError } from 'axios';
import { z } from 'zod';
import {
  PermanentVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError,
} from '../../delivery/errors.js';
import { parseRetryAfter } from '../../http-client/classify.js';

const VENDOR = 'joinchat';

/**
 * What JoinChat answers (docs/vendors/joinchat.md, after its sibling API): `{ success: true, recipient_id }` or
 * `{ success: false, error: { code, msg } }`. Loose, because a proxy or a new API version may add fields.
 */
export const joinchatAnswerSchema = z.looseObject({
  success: z.boolean().optional(),
  recipient_id: z.union([z.string(), z.number()]).optional(),
  error: z.looseObject({
    code: z.union([z.number(), z.string()]).optional(),
    msg: z.string().optional(),
  }).optional(),
});
export type JoinchatAnswer = z.infer<typeof joinchatAnswerSchema>;

/** The only JoinChat codes we know the meaning of; every other code is permanent (retrying could double-send). */
const KNOWN_CODES: Record<string, string> = { 10010: 'Recipient not found' };

/**
 * A failed send (HTTP error or a `success:false` answer): 429 → rate-limited, 5xx/408 → retryable, anything else
 * (other 4xx, a 200 carrying an error code) → permanent. The message carries JoinChat's code and text.
 */
export function joinchatFailure(status: number, error: { code?: number | string; msg?: string } | undefined, retryAfter?: unknown): VendorError {
  const code = error?.code ?? status;
  const msg = error?.msg ?? KNOWN_CODES[String(code)] ?? `HTTP ${status}`;
  const details = { vendor: VENDOR, status, code };
  if (status === 429 || String(code) === '429') return new RateLimitedVendorError(msg, details, parseRetryAfter(retryAfter));
  if (status >= 500 || status === 408) return new RetryableVendorError(msg, details);
  return new PermanentVendorError(msg, details);
}

/**
 * No answer at all (timeout, refused or reset connection): retryable. Built from the error code only — the axios
 * error holds the request headers (the signature), so it is deliberately not kept as the cause.
 */
export function joinchatNoAnswer(err: unknown): VendorError {
  const why = isAxiosError(err) ? (err.code ?? err.message) : err instanceof Error ? err.message : String(err);
  return new RetryableVendorError(`no answer (${why})`, { vendor: VENDOR });
}
