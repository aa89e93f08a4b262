/**
 * Exponential backoff with jitter, capped: attempt n waits between 50 % and 100 % of min(base·2^(n-1), max).
 * Jitter spreads a thundering herd of retries after a vendor outage.
 */
export function jitteredBackoff(attemptsMade: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}

/** The total time a delivery keeps trying (upper bound), for documentation and config checks. */
export function retryEnvelopeMs(attempts: number, baseMs: number, maxMs: number): number {
  let total = 0;
  for (let n = 1; n < attempts; n++) total += Math.min(maxMs, baseMs * 2 ** (n - 1));
  return total;
}
