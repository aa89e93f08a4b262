import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. The timestamp is signed, so
 * a receiver can refuse a replayed request once it is older than its tolerance (Stripe-style; our own scheme).
 */
export function signHttpBody(rawBody: string, secret: string, unixSeconds: number): string {
  return `t=${unixSeconds},v1=${createHmac('sha256', secret).update(`${unixSeconds}.${rawBody}`, 'utf8').digest('hex')}`;
}

/** Receiver side (the sandbox, a gateway written in Node): why the header does not match, or undefined when it does. */
export function checkHttpSignature(header: string | undefined, rawBody: string, secret: string, nowSeconds: number, toleranceSec = 300): string | undefined {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return 'signature header missing or not "t=<unix seconds>,v1=<64 hex>"';
  const t = Number(m[1]);
  if (Math.abs(nowSeconds - t) > toleranceSec) return `signature timestamp ${t} is more than ${toleranceSec} s from now`;
  const expected = Buffer.from(signHttpBody(rawBody, secret, t).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex')) ? undefined : 'signature does not match the body';
}
