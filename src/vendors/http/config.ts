import { z } from 'zod';
import { rateLimit, type RateLimit } from '../../config/duration.js';
import { headerName, httpUrl, list, optionalText } from '../../config/env-fields.js';
import type { VendorConfigSlice } from '../types.js';

export interface HttpVendorConfig {
  /** Where a rule without its own `url` posts. */
  url: string;
  /** Every URL a rule may name (normalised), the default URL included. */
  allowedUrls: string[];
  secret: string;
  signatureHeader: string;
  /** Statuses worth another attempt; 429 is always a rate limit, every other non-2xx is permanent. */
  retryStatuses: number[];
  rateLimit: RateLimit;
}

/** Shortest HTTP_VENDOR_SECRET accepted: an HMAC key a person could guess protects nothing. */
export const MIN_SECRET_BYTES = 24;
const DEFAULT_RETRY_STATUSES = '408,425,500,502,503,504';

const statuses = z.string().trim().regex(/^\d{3}(\s*,\s*\d{3})*$/, 'must be comma-separated HTTP statuses, e.g. 500,502,503')
  .refine((s) => list(s).every((x) => Number(x) >= 400 && Number(x) <= 599), 'must list only 4xx/5xx statuses')
  .default(DEFAULT_RETRY_STATUSES);
const urls = z.string().trim().refine((s) => list(s).every((u) => httpUrl.safeParse(u).success), 'must be comma-separated absolute http(s) URLs').optional();

const env = {
  HTTP_VENDOR_URL: httpUrl.optional(),
  HTTP_VENDOR_SECRET: optionalText,
  /** Further URLs a rule may post to (`url:` in the rule's message); nothing else is ever called. */
  HTTP_VENDOR_ALLOWED_URLS: urls,
  HTTP_VENDOR_SIGNATURE_HEADER: headerName.default('x-order-notify-signature'),
  HTTP_VENDOR_RETRY_STATUSES: statuses,
  HTTP_VENDOR_RATE_LIMIT: rateLimit.default({ max: 10, durationMs: 1_000 }),
};

/** One spelling per URL, so the allowlist compares like with like. */
export const normaliseUrl = (u: string): string => new URL(u).href;

/**
 * https://, or plain http only where the request never leaves the deployment: this machine, or a single-label
 * host name (a compose or Kubernetes service such as `sms-gateway`), never a public name or address.
 */
function privateEnough(raw: string): boolean {
  const u = new URL(raw);
  return u.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) || /^127\.\d+\.\d+\.\d+$/.test(u.hostname)
    || /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/i.test(u.hostname) && !/^\d+$/.test(u.hostname);
}

export const httpVendorConfig: VendorConfigSlice<HttpVendorConfig, typeof env> = {
  env,
  secretVars: ['HTTP_VENDOR_SECRET'],
  build: (e, need, problems) => {
    if (!need('http', { HTTP_VENDOR_URL: e.HTTP_VENDOR_URL, HTTP_VENDOR_SECRET: e.HTTP_VENDOR_SECRET })) return undefined;
    const allowed = [e.HTTP_VENDOR_URL!, ...list(e.HTTP_VENDOR_ALLOWED_URLS)];
    // Orders carry personal data: only TLS, except inside the deployment.
    for (const u of allowed.filter((x) => !privateEnough(x))) problems.push(`${u === e.HTTP_VENDOR_URL ? 'HTTP_VENDOR_URL' : 'HTTP_VENDOR_ALLOWED_URLS'}: ${u} must be https:// (plain http only to localhost or a single-label service name such as sms-gateway)`);
    const bytes = Buffer.byteLength(e.HTTP_VENDOR_SECRET!);
    if (bytes < MIN_SECRET_BYTES) problems.push(`HTTP_VENDOR_SECRET: is ${bytes} bytes; at least ${MIN_SECRET_BYTES} are required (e.g. \`openssl rand -hex 32\`)`);
    return {
      url: normaliseUrl(e.HTTP_VENDOR_URL!), allowedUrls: [...new Set(allowed.map(normaliseUrl))], secret: e.HTTP_VENDOR_SECRET!,
      signatureHeader: e.HTTP_VENDOR_SIGNATURE_HEADER.toLowerCase(), retryStatuses: list(e.HTTP_VENDOR_RETRY_STATUSES).map(Number),
      rateLimit: e.HTTP_VENDOR_RATE_LIMIT,
    };
  },
  secrets: (c) => [c.secret],
};
