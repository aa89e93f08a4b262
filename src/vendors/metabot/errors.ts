import { z } from 'zod';
import type { VendorError } from '../../delivery/errors.js';
import { classifyNoAnswer, classifyStatus } from '../../http-client/classify.js';
import type { HttpAnswer } from '../../http-client/request.js';

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
 * Metabot has no codes of its own: the shared status table decides (401/403/404/422 and any other 4xx →
 * permanent, 429 → rate-limited, 5xx/408 → retryable), with Metabot's own words as the message.
 */
export function metabotFailure(answer: HttpAnswer, parsed: MetabotAnswer | undefined): VendorError {
  return classifyStatus(answer, VENDOR, { message: metabotMessage(parsed, answer.status) });
}

/** No answer (timeout, refused, reset): retryable; nothing of the request (it holds the bearer token) is kept. */
export function metabotNoAnswer(err: unknown): VendorError {
  return classifyNoAnswer(err, VENDOR);
}
