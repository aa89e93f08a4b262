import type { AxiosInstance } from 'axios';
import { PermanentVendorError } from '../../delivery/errors.js';
import type { VendorCallMetrics } from '../../delivery/types.js';
import { isSuccess, request } from '../../http-client/request.js';
import { normaliseUrl, type HttpVendorConfig } from './config.js';
import { httpVendorFailure, httpVendorNoAnswer, VENDOR } from './errors.js';
import type { HttpPayload } from './payload.js';
import { signHttpBody } from './sign.js';

export interface HttpSent { messageId?: string }

/** Posts one signed JSON body to the shop's own gateway. */
export class HttpVendorClient {
  constructor(
    private readonly config: HttpVendorConfig,
    private readonly http: AxiosInstance,
    private readonly metrics?: VendorCallMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  async send(deliveryId: string, payload: HttpPayload): Promise<HttpSent> {
    const url = normaliseUrl(payload.url ?? this.config.url);
    if (!this.config.allowedUrls.includes(url)) {
      // Rules come from a file anyone with repo access edits: never let one point the signed request elsewhere.
      throw new PermanentVendorError(`url ${url} is not allowed: add it to HTTP_VENDOR_ALLOWED_URLS or remove it from the rule`, { vendor: VENDOR });
    }
    const rawBody = JSON.stringify(payload.body);
    let res;
    try {
      res = await request(this.http, {
        target: VENDOR, endpoint: 'post', url, body: rawBody, metrics: this.metrics,
        headers: {
          [this.config.signatureHeader]: signHttpBody(rawBody, this.config.secret, Math.floor(this.now() / 1000)),
          // The same key on every attempt of a delivery: a gateway that keeps it answers a resend without sending twice.
          'idempotency-key': deliveryId,
        },
      });
    } catch (err) {
      throw httpVendorNoAnswer(err);
    }
    if (!isSuccess(res)) throw httpVendorFailure(res, this.config.retryStatuses);
    const id = (res.data as { id?: unknown } | null)?.id;
    return { messageId: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined };
  }
}
