import type { AxiosInstance } from 'axios';
import type { JoinchatConfig } from '../../config/env.js';
import type { VendorCallMetrics } from '../../delivery/types.js';
import { request } from '../../http-client/request.js';
import { joinchatAnswerSchema, joinchatFailure, joinchatNoAnswer } from './errors.js';
import type { JoinchatPayload } from './payload.js';
import { signJoinchatBody } from './sign.js';

export const JOINCHAT_SEND_PATH = '/send_message';

/**
 * What an accepted send tells us: Messenger's page-scoped id of the recipient, when JoinChat returns one, and a
 * note when the 2xx body was not the `{ success: true, … }` we expect (accepted all the same: see postSigned).
 */
export interface JoinchatSent { recipientId?: string; unexpectedAnswer?: string }

const DIGITS = /^(0|[1-9]\d*)$/;

/**
 * The exact body of POST /send_message, in the seed's key order. The seed sends page_id as a JSON integer
 * (`"page_id":12345`); with JOINCHAT_PAGE_ID_FORMAT=auto an all-digit page id is written as those very digits —
 * by hand, since Facebook page ids exceed 2^53 and a JS number would round them. Anything else stays a string.
 */
export function serialiseSendMessage(pageId: string, payload: JoinchatPayload, format: 'auto' | 'string' = 'auto'): string {
  const { recipient, message, tag, delay } = payload;
  const pageIdJson = format === 'auto' && DIGITS.test(pageId) ? pageId : JSON.stringify(pageId);
  return `{"page_id":${pageIdJson},${JSON.stringify({ recipient, message, tag, delay }).slice(1)}`;
}

export interface PostSignedOptions {
  http: AxiosInstance;
  url: string;
  rawBody: string;
  signature: string;
  signatureHeader: string;
  metrics?: VendorCallMetrics;
}

/**
 * Sends `rawBody` byte for byte with the given signature and classifies the answer. Callers must pass the very
 * string they signed; `JoinchatClient.send` is the only production caller and does exactly that.
 */
export async function postSigned(opts: PostSignedOptions): Promise<JoinchatSent> {
  let res;
  try {
    res = await request(opts.http, {
      target: 'joinchat', endpoint: 'send_message', url: opts.url, body: opts.rawBody, metrics: opts.metrics,
      headers: { [opts.signatureHeader]: opts.signature },
    });
  } catch (err) {
    throw joinchatNoAnswer(err);
  }
  const parsed = joinchatAnswerSchema.safeParse(res.data);
  const answer = parsed.success ? parsed.data : undefined;
  if (res.status >= 200 && res.status < 300) {
    const recipientId = answer?.recipient_id !== undefined ? String(answer.recipient_id) : undefined;
    if (answer?.success === true) return { recipientId };
    // The answer is undocumented: only an explicit `success: false` is a refusal. Any other 2xx was accepted — a
    // failure here would let a later retry-failed send the message twice. The caller warns about the shape.
    if (answer?.success !== false) return { recipientId, unexpectedAnswer: `HTTP ${res.status}: ${describe(res.data)}` };
  }
  throw joinchatFailure(res, answer?.error ?? { msg: looseMessage(res.data) });
}

/** A proxy's or gateway's own error text (`{ error: "..." }` / `{ message: "..." }`), when the body is not JoinChat's. */
function looseMessage(data: unknown): string | undefined {
  if (data && typeof data === 'object') {
    const { error, message } = data as Record<string, unknown>;
    if (typeof error === 'string') return error;
    if (typeof message === 'string') return message;
  }
  return undefined;
}

function describe(data: unknown): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data) ?? String(data);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** JoinChat's send API for one page: serialise once, sign those bytes, send those bytes. */
export class JoinchatClient {
  private readonly url: string;

  constructor(private readonly config: JoinchatConfig, private readonly http: AxiosInstance, private readonly metrics?: VendorCallMetrics) {
    this.url = `${config.baseUrl.replace(/\/+$/, '')}${JOINCHAT_SEND_PATH}`;
  }

  async send(payload: JoinchatPayload): Promise<JoinchatSent> {
    const rawBody = serialiseSendMessage(this.config.pageId, payload, this.config.pageIdFormat);
    return postSigned({
      http: this.http,
      url: this.url,
      rawBody,
      signature: signJoinchatBody(rawBody, this.config.secret),
      signatureHeader: this.config.signatureHeader,
      metrics: this.metrics,
    });
  }
}
