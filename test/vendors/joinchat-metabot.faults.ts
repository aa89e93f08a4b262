/**
 * The fault scenarios JoinChat and Metabot share (one request per delivery, no batching): flaky 5xx, 429 bursts,
 * a permanent 4xx, and the shared rate limit across two replicas. Each vendor's *-faults.test.ts calls this.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countBy, finalJobs, startRig, type FinalJob, type Rig, type RigVendor } from './joinchat-metabot.harness.js';

/** Final states tallied, e.g. { completed: 30 }. */
const states = (jobs: Map<string, FinalJob>) => {
  const tally: Record<string, number> = {};
  for (const { state } of jobs.values()) tally[state] = (tally[state] ?? 0) + 1;
  return tally;
};

export interface VendorFaultSpec {
  vendor: RigVendor;
  /** The env var of this vendor's request budget, e.g. JOINCHAT_RATE_LIMIT. */
  rateLimitEnv: string;
  /** A valid payload for delivery number i, addressed to a recipient of its own. */
  payload(i: number): unknown;
  /** The recipient key of delivery i, and how to read it back from a request body the sandbox recorded. */
  key(i: number): string;
  keyOfBody(body: any): string;
  /** Config that makes the vendor refuse every request with a 4xx, and the reason the failed job must show. */
  permanent: { env: Record<string, string>; status: number; reason: RegExp };
}

export function describeVendorFaults(spec: VendorFaultSpec): void {
  const { vendor } = spec;
  const ids = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  const deliveries = (n: number, tag: string) => ids(n, tag).map((id, i) => ({ id, payload: spec.payload(i) }));

  describe(`${vendor} under faults`, () => {
    let rig: Rig;
    beforeAll(async () => { rig = await startRig(); });
    afterAll(async () => { await rig?.close(); });
    beforeEach(() => rig.sandbox.reset());
    afterEach(async () => { await rig.cleanup(); });

    it('30 % of requests answered 503: every delivery arrives, none twice', async () => {
      const config = rig.config({ [spec.rateLimitEnv]: '200/1s' });
      rig.sandbox.setFaults(vendor, { errorRate: 0.3 });
      await rig.enqueue(vendor, config, deliveries(30, 'flaky'));
      await rig.startWorkers(vendor, config);
      const jobs = await finalJobs(vendor, config, rig.redis.url, ids(30, 'flaky'));

      expect(states(jobs)).toEqual({ completed: 30 });
      const counts = countBy(rig.sandbox.accepted(vendor), spec.keyOfBody);
      expect(counts.size).toBe(30);
      for (let i = 0; i < 30; i++) expect(counts.get(spec.key(i)), spec.key(i)).toBe(1);
      expect(rig.sandbox.requests(vendor).filter((r) => r.status === 503).length).toBeGreaterThan(0);
      // The retries happened in our queue: some job needed more than one attempt.
      expect(Math.max(...[...jobs.values()].map((j) => j.job.attemptsMade))).toBeGreaterThan(1);
    });

    it('429 bursts (Retry-After 1 s): every delivery arrives later, none twice', async () => {
      const config = rig.config({ [spec.rateLimitEnv]: '100/1s' });
      rig.sandbox.setFaults(vendor, { rateLimit: { max: 5, durationMs: 1_000, retryAfterSec: 1 } });
      await rig.enqueue(vendor, config, deliveries(15, 'burst'));
      await rig.startWorkers(vendor, config);
      const jobs = await finalJobs(vendor, config, rig.redis.url, ids(15, 'burst'));

      expect(states(jobs)).toEqual({ completed: 15 });
      const counts = countBy(rig.sandbox.accepted(vendor), spec.keyOfBody);
      for (let i = 0; i < 15; i++) expect(counts.get(spec.key(i)), spec.key(i)).toBe(1);
      const limited = rig.sandbox.requests(vendor).filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThan(0);
      // "Later": deliveries kept arriving after the first 429 once the pause was over.
      const lastAccepted = Math.max(...rig.sandbox.accepted(vendor).map((r) => r.at));
      expect(lastAccepted - limited[0]!.at).toBeGreaterThanOrEqual(900);
    });

    it('a permanent 4xx fails the delivery at once: one request, one attempt, the vendor\'s reason', async () => {
      const config = rig.config(spec.permanent.env);
      await rig.enqueue(vendor, config, deliveries(1, 'refused'));
      const { records } = await rig.startWorkers(vendor, config);
      const { job, state } = (await finalJobs(vendor, config, rig.redis.url, ['refused-0'])).get('refused-0')!;

      expect(state).toBe('failed');
      expect(job.failedReason).toMatch(spec.permanent.reason);
      expect(job.attemptsMade).toBe(1);
      expect(rig.sandbox.requests(vendor).map((r) => r.status)).toEqual([spec.permanent.status]);
      const record = await records.getDelivery(job.data.orderId, 'refused-0');
      expect(record).toMatchObject({ status: 'failed', attempts: 1 });
      expect(record?.reason).toMatch(spec.permanent.reason);
    });

    it('two replicas share the rate limit: a backlog of 40 at 10/1s never exceeds 10 requests in any second', async () => {
      // Concurrency 5 per replica, so both replicas take part instead of the first one grabbing the whole backlog.
      const config = rig.config({ [spec.rateLimitEnv]: '10/1s', DELIVERY_CONCURRENCY: '5' });
      await rig.enqueue(vendor, config, deliveries(40, 'backlog'));
      const { completedBy } = await rig.startWorkers(vendor, config, { replicas: 2 });
      const jobs = await finalJobs(vendor, config, rig.redis.url, ids(40, 'backlog'), 60_000);

      expect(states(jobs)).toEqual({ completed: 40 });
      expect(rig.sandbox.accepted(vendor)).toHaveLength(40);
      expect(rig.sandbox.maxInWindow(vendor, 1_000)).toBeLessThanOrEqual(10);
      expect(completedBy.every((n) => n > 0), `completed per replica: ${completedBy.join(', ')}`).toBe(true);
    });
  });
}
