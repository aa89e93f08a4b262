import { z } from 'zod';
import type { VendorError } from '../../delivery/errors.js';
import { classifyNoAnswer, classifyStatus } from '../../http-client/classify.js';
import type { HttpAnswer } from '../../http-client/request.js';

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
 * A failed send (HTTP error or a `success:false` answer): JoinChat's own code and text, then the shared status
 * table (429 or code 429 → rate-limited, 5xx/408 → retryable, anything else, including a 200 carrying an error
 * code → permanent).
 */
export function joinchatFailure(answer: HttpAnswer, error: { code?: number | string; msg?: string } | undefined): VendorError {
  const code = error?.code ?? answer.status;
  return classifyStatus(answer, VENDOR, { code, message: error?.msg ?? KNOWN_CODES[String(code)] ?? `HTTP ${answer.status}` });
}

/** No answer at all (timeout, refused or reset connection): retryable; the request (its signature) is not kept. */
export function joinchatNoAnswer(err: unknown): VendorError {
  return classifyNoAnswer(err, VENDOR);
}
