import { createHmac } from 'node:crypto';

/**
 * JoinChat's request signature: base64(HMAC-SHA256(raw body bytes, secret)). It covers the exact bytes on the
 * wire, so callers sign the very string they send and never re-serialise after signing.
 */
export function signJoinchatBody(rawBody: string, secret: string): string {
  return createHmac('sha256', secret).update(rawBody, 'utf8').digest('base64');
}
