import type { AxiosInstance } from 'axios';
import { PermanentVendorError } from '../../delivery/errors.js';
import type { VendorCallMetrics } from '../../delivery/types.js';
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
    const started = performance.now();
    const observe = (status: number | 'error') => this.metrics?.observeCall(VENDOR, 'post', status, (performance.now() - started) / 1000);
    let res;
    try {
      res = await this.http.post<unknown>(url, rawBody, {
        headers: {
          'content-type': 'application/json',
          [this.config.signatureHeader]: signHttpBody(rawBody, this.config.secret, Math.floor(this.now() / 1000)),
          // The same key on every attempt of a delivery: a gateway that keeps it answers a resend without sending twice.
          'idempotency-key': deliveryId,
        },
        validateStatus: () => true,
      });
    } catch (err) {
      observe('error');
      throw httpVendorNoAnswer(err);
    }
    observe(res.status);
    if (res.status < 200 || res.status >= 300) throw httpVendorFailure(res.status, res.data, this.config.retryStatuses, res.headers['retry-after']);
    const id = (res.data as { id?: unknown } | null)?.id;
    return { messageId: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined };
  }
}
