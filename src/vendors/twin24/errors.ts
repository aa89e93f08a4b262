import { z } from 'zod';
import { AuthExpiredVendorError, PermanentVendorError, RetryableVendorError, type VendorError } from '../../delivery/errors.js';
import { answerOf, classifyHttpFailure, classifyNoAnswer } from '../../http-client/classify.js';
import { NoAnswerError } from '../../http-client/request.js';

export const VENDOR = 'twin24';

/** The one 401 body Twin24 documents as "refresh the token and retry"; every other 401 is a real refusal. */
export const EXPIRED_TOKEN_ERROR = 'Token is expired.';

/** Twin24's error body: `{ error, details? }` (details: a string, a list or an object). */
const errorBodySchema = z.looseObject({ error: z.string().optional(), details: z.unknown().optional() });

const MAX_TEXT = 500;

function detailsText(details: unknown): string | undefined {
  if (details === undefined || details === null || details === '') return undefined;
  if (typeof details === 'string') return details;
  if (Array.isArray(details)) return details.map((d) => (typeof d === 'string' ? d : JSON.stringify(d))).join('; ');
  return JSON.stringify(details);
}

/** "Chat not found: messages[0].channels.chat.chatId: …", or undefined when the body is not Twin24's error shape. */
export function twin24ErrorText(body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success || parsed.data.error === undefined) return undefined;
  const details = detailsText(parsed.data.details);
  const text = details ? `${parsed.data.error}: ${details}` : parsed.data.error;
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/**
 * Maps a failed Twin24 call onto the shared taxonomy, on the HTTP status and the body's `error` field only:
 * 401 "Token is expired." → refresh; 402 → permanent "out of balance"; other 4xx → permanent with Twin24's text;
 * 429 → rate limited; 5xx, timeouts, refused connections → retryable. `what` names the call ("send", "login").
 */
export function classifyTwin24Failure(err: unknown, what: string): VendorError {
  const answer = answerOf(err);
  // No cause attached: the request held the token (or, for a login, the password).
  if (!answer) {
    return err instanceof NoAnswerError ? classifyNoAnswer(err, VENDOR, what)
      : new RetryableVendorError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { vendor: VENDOR });
  }
  const { status, data } = answer;
  const vendorText = twin24ErrorText(data);
  // The seed names only the bearer token for these calls, so any 401 from notify or analyse means "this token is no
  // good": refresh once, whatever the text (docs/vendors/twin24.md shows "Token is expired."; a gateway may say otherwise).
  // A 401 from IAM itself (login, refresh) is a refused credential, not an expired token.
  if (status === 401 && what !== 'login' && what !== 'refresh') {
    return new AuthExpiredVendorError(`${what}: ${vendorText ?? EXPIRED_TOKEN_ERROR}`, { vendor: VENDOR, status, code: status });
  }
  if (status === 402) {
    return new PermanentVendorError(
      `${what}: out of balance: top up the Twin24 account, then retry the failed jobs${vendorText ? ` (${vendorText})` : ''}`,
      { vendor: VENDOR, status, code: status },
    );
  }
  return classifyHttpFailure(answer, VENDOR, `${what}: ${vendorText ?? `HTTP ${status}`}`);
}
