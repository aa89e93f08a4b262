import { z } from 'zod';

/**
 * An absolute http(s) URL and nothing else: `z.url()` alone accepts `javascript:`, `file:` and `data:`, which must
 * never reach a customer's chat button or image. One helper for events, templates and vendor payloads.
 */
export function httpUrl(max = 2_000) {
  return z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' }).max(max, `must be at most ${max} characters`);
}
