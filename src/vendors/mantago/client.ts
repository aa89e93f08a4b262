import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import type { VendorCallMetrics } from '../../delivery/types.js';
import { PermanentVendorError, RetryableVendorError } from '../../delivery/errors.js';
import { isSuccess as is2xx, request, type HttpAnswer } from '../../http-client/request.js';
import { classifyMantagoFailure, classifyRefusalBody, MANTAGO } from './errors.js';
import type { MantagoPayload } from './payload.js';

/** The bot's one credential pair: the Bearer token and the secret every body carries. Both rotate together. */
export interface MantagoPair {
  token: string;
  secret: string;
}

/** One broadcast: a payload with every recipient of the request. */
export type BroadcastRequest = Omit<MantagoPayload, 'name'> & { name: string };

const refreshAnswerSchema = z.object({
  apiToken: z.string().min(1),
  apiSecret: z.string().min(1),
});

/**
 * The wire-exact MantaGO Open API client: two endpoints, bodies serialised here in the documented field order
 * (the shared axios sends strings untouched), every failure classified into the shared taxonomy, every call timed.
 * It never logs: the token and secret must not leave this object except on the wire.
 */
export class MantagoClient {
  private readonly base: string;

  constructor(
    private readonly http: AxiosInstance,
    baseUrl: string,
    private readonly botId: string,
    private readonly metrics: VendorCallMetrics,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** POST /openapi/broadcast; resolves when MantaGO accepted the broadcast, else throws a VendorError. */
  async broadcast(pair: MantagoPair, req: BroadcastRequest): Promise<void> {
    const body = JSON.stringify({
      botId: this.botId,
      clientIds: req.clientIds,
      platform: req.platform,
      secret: pair.secret,
      intentId: req.intentId,
      message: req.message,
      fbTag: req.fbTag,
      name: req.name,
    }); // undefined fields (intentId or message, fbTag) are left out by JSON.stringify
    const res = await this.post('broadcast', pair.token, body);
    if (isRefusal(res.data)) throw classifyRefusalBody(res.status, res.data);
    // The seed's success answer is `{ success: true, message }`. Any other 2xx (a proxy's HTML page, an empty body)
    // is not a send we can count: retryable, with what came back so a person can see it.
    if (!isSuccess(res.data)) {
      throw new RetryableVendorError(`broadcast answered HTTP ${res.status} without success: true: ${firstBytes(res.data)}`, { vendor: MANTAGO, status: res.status });
    }
  }

  /**
   * POST /openapi/token with the current (maybe expired) pair → the new pair. MantaGO retires the old pair at once,
   * so the caller must store the answer before anything else (see credentials.ts).
   */
  async refreshToken(stale: MantagoPair): Promise<MantagoPair> {
    const res = await this.post('token', stale.token, JSON.stringify({ secret: stale.secret }));
    if (isRefusal(res.data)) throw classifyRefusalBody(res.status, res.data);
    const parsed = refreshAnswerSchema.safeParse(res.data);
    if (!parsed.success) {
      // The old pair may already be retired: a person has to put a working pair in place.
      throw new PermanentVendorError(
        `token refresh answered HTTP ${res.status} without apiToken/apiSecret; set a working pair (see docs/vendors/mantago.md: token rotation)`,
        { vendor: MANTAGO, status: res.status },
      );
    }
    return { token: parsed.data.apiToken, secret: parsed.data.apiSecret };
  }

  /** One call through the shared outbound path; a non-2xx answer or no answer leaves as the taxonomy. */
  private async post(endpoint: 'broadcast' | 'token', token: string, body: string): Promise<HttpAnswer> {
    const url = `${this.base}/openapi/${endpoint}?botId=${encodeURIComponent(this.botId)}`;
    let res: HttpAnswer;
    try {
      res = await request(this.http, { target: MANTAGO, endpoint, url, body, headers: { authorization: `Bearer ${token}` }, metrics: this.metrics });
    } catch (e) {
      throw classifyMantagoFailure(e);
    }
    if (!is2xx(res)) throw classifyMantagoFailure(res);
    return res;
  }
}

/** 2xx with `success: false` is a refusal. */
function isRefusal(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { success?: unknown }).success === false;
}

/** Only `success: true` is an acceptance (the seed's answer). */
function isSuccess(data: unknown): boolean {
  return typeof data === 'object' && data !== null && (data as { success?: unknown }).success === true;
}

const FIRST_BYTES = 200;

/** The start of an answer body, for a failure reason (never the request: that holds the token and secret). */
export function firstBytes(data: unknown): string {
  const text = typeof data === 'string' ? data : data === undefined ? '(empty body)' : JSON.stringify(data) ?? String(data);
  const flat = text.replace(/\s+/g, ' ').trim() || '(empty body)';
  return flat.length > FIRST_BYTES ? `${flat.slice(0, FIRST_BYTES)}…` : flat;
}
