import { z } from 'zod';
import {
  AuthExpiredVendorError, PermanentVendorError, RetryableVendorError, type VendorError,
} from '../../delivery/errors.js';
import { answerOf, classifyHttpFailure } from '../../http-client/classify.js';

export const MANTAGO = 'mantago';

/** MantaGO's documented error codes (docs/vendors/mantago.md). */
export const MANTAGO_CODES = {
  permissionDenied: 1002,
  tokenExpired: 1004,
  botNotFound: 5001,
  noPlatformIntegration: 11001,
  broadcastFailed: 36000,
  clientNotFound: 37011,
  requiredFieldsMissing: 110000,
  credentialsSuperseded: 120000,
} as const;

const C = MANTAGO_CODES;
const PERMANENT = new Set<number>([C.permissionDenied, C.botNotFound, C.noPlatformIntegration, C.clientNotFound, C.requiredFieldsMissing]);

/** Shown when MantaGO sends a code without a text. */
const MEANING: Record<number, string> = {
  [C.permissionDenied]: 'permission denied (bad token/secret, or a plan without Open API)',
  [C.tokenExpired]: 'token invalid or expired',
  [C.botNotFound]: 'botId not found',
  [C.noPlatformIntegration]: 'the bot has no integration for this platform',
  [C.broadcastFailed]: 'broadcast creation failed',
  [C.clientNotFound]: 'client not found',
  [C.requiredFieldsMissing]: 'required body fields missing',
  [C.credentialsSuperseded]: 'old credentials used after a refresh',
};

/**
 * The pair we sent is no longer valid. `remedy` says what helps: 1004 → refresh the token at MantaGO; 120000 → the
 * pair was already rotated, so re-reading the shared store is the whole "refresh" (a second rotation would
 * invalidate the pair another replica just obtained).
 */
export class MantagoCredentialsRejected extends AuthExpiredVendorError {
  readonly remedy: 'refresh' | 'reload';
  constructor(message: string, code: number, status: number | undefined) {
    super(message, { vendor: MANTAGO, code, status });
    this.remedy = code === C.credentialsSuperseded ? 'reload' : 'refresh';
  }
}

/** `{ success: false, errResponse: { message, code, botId? } }`; the code may arrive as a string. */
const errorBodySchema = z.object({
  errResponse: z.object({
    code: z.coerce.number().int().optional(),
    message: z.string().optional(),
  }),
});

interface MantagoRefusal { code?: number; text?: string }

function readRefusal(body: unknown): MantagoRefusal | undefined {
  const parsed = errorBodySchema.safeParse(typeof body === 'string' ? safeJson(body) : body);
  if (!parsed.success) return undefined;
  const { code, message } = parsed.data.errResponse;
  // Vendor text goes into job failure reasons: keep it short.
  return { code, text: message?.trim().slice(0, 300) || undefined };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The taxonomy for one of MantaGO's own codes, or undefined for a code the docs do not list. */
function byCode(code: number, text: string | undefined, status: number | undefined): VendorError | undefined {
  const message = text ?? MEANING[code] ?? 'error';
  if (code === C.tokenExpired || code === C.credentialsSuperseded) return new MantagoCredentialsRejected(message, code, status);
  if (PERMANENT.has(code)) return new PermanentVendorError(message, { vendor: MANTAGO, code, status });
  if (code === C.broadcastFailed) return new RetryableVendorError(message, { vendor: MANTAGO, code, status });
  return undefined;
}

/**
 * Any failed MantaGO call → the shared taxonomy, decided on HTTP status and MantaGO's code only (never on texts).
 * 429 wins over any code (it carries Retry-After); documented codes next; everything else falls back to the
 * HTTP-level rules (no answer/5xx retry, other 4xx permanent).
 */
export function classifyMantagoFailure(err: unknown): VendorError {
  const response = answerOf(err);
  if (!response) return classifyHttpFailure(err, MANTAGO);
  const refusal = readRefusal(response.data);
  if (response.status !== 429 && refusal?.code !== undefined) {
    const known = byCode(refusal.code, refusal.text, response.status);
    if (known) return known;
  }
  const text = refusal?.code !== undefined ? `${refusal.text ?? 'error'} (MantaGO code ${refusal.code})` : refusal?.text;
  return classifyHttpFailure(response, MANTAGO, text);
}

/** A 2xx answer whose body says `success: false` (not documented, but possible): the code decides. */
export function classifyRefusalBody(status: number, body: unknown): VendorError {
  const refusal = readRefusal(body);
  if (refusal?.code !== undefined) {
    const known = byCode(refusal.code, refusal.text, status);
    if (known) return known;
  }
  // Nothing was sent (success: false) and we cannot tell why: retrying cannot double-send.
  const text = `answered HTTP ${status} with success: false${refusal?.code !== undefined ? ` (MantaGO code ${refusal.code})` : ''}`;
  return new RetryableVendorError(refusal?.text ? `${refusal.text} — ${text}` : text, { vendor: MANTAGO, code: refusal?.code, status });
}

export function isClientNotFound(e: unknown): boolean {
  return e instanceof PermanentVendorError && e.code === C.clientNotFound;
}
