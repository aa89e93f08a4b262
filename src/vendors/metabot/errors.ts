import { isAxiosError } from 'axios';
import { z } from 'zod';
import {
  PermanentVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError,
} from '../../delivery/errors.js';
import { parseRetryAfter } from '../../http-client/classify.js';

const VENDOR = 'metabot';

/**
 * Metabot's answers are undocumented; it is a Laravel app, so errors look like `{ message, errors? }` and a
 * scheduled job answers something like `{ success: true, data: { job_id } }`. Everything is optional here.
 */
export const metabotAnswerSchema = z.looseObject({
  success: z.boolean().optional(),
  message: z.string().optional(),
  error: z.string().optional(),
  errors: z.record(z.string(), z.union([z.array(z.string()), z.string()])).optional(),
  job_id: z.union([z.number(), z.string()]).optional(),
  id: z.union([z.number(), z.string()]).optional(),
  data: z.looseObject({
    job_id: z.union([z.number(), z.string()]).optional(),
    id: z.union([z.number(), z.string()]).optional(),
  }).optional(),
});
export type MetabotAnswer = z.infer<typeof metabotAnswerSchema>;

/** Metabot's own words for a failure: `message`, plus Laravel's per-field `errors` when they add detail. */
export function metabotMessage(answer: MetabotAnswer | undefined, status: number): string {
  const base = answer?.message ?? answer?.error ?? `HTTP ${status}`;
  const fields = Object.entries(answer?.errors ?? {})
    .map(([field, msgs]) => `${field}: ${Array.isArray(msgs) ? msgs.join(', ') : msgs}`)
    .filter((f) => !base.includes(f));
  return fields.length ? `${base} (${fields.join('; ')})` : base;
}

/**
 * 401/403/404/422 and any other 4xx → permanent (bad token, unknown bot, a body Metabot refuses), 429 →
 * rate-limited, 5xx/408 → retryable. The code is the HTTP status: Metabot has no codes of its own.
 */
export function metabotFailure(status: number, answer: MetabotAnswer | undefined, retryAfter?: unknown): VendorError {
  const details = { vendor: VENDOR, status, code: status };
  const msg = metabotMessage(answer, status);
  if (status === 429) return new RateLimitedVendorError(msg, details, parseRetryAfter(retryAfter));
  if (status >= 500 || status === 408) return new RetryableVendorError(msg, details);
  return new PermanentVendorError(msg, details);
}

/** No answer (timeout, refused, reset): retryable. The axios error (it holds the bearer token) is not kept. */
export function metabotNoAnswer(err: unknown): VendorError {
  const why = isAxiosError(err) ? (err.code ?? err.message) : err instanceof Error ? err.message : String(err);
  return new RetryableVendorError(`no answer (${why})`, { vendor: VENDOR });
}
