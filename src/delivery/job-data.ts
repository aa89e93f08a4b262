import type { Job } from 'bullmq';
import { describeIssues } from '../events/zod-issues.js';
import { invalidJob } from './outcome.js';
import { z } from 'zod';
import type { VendorDefinition } from '../vendors/types.js';
import { isValidTimeZone, WEEKDAYS } from './send-window.js';
import type { DeliveryJobData } from './types.js';

const envelope = z.object({
  deliveryId: z.string().min(1),
  orderId: z.string().min(1),
  ruleId: z.string().min(1),
  vendor: z.string(),
  payload: z.unknown(),
  createdAt: z.string(),
  onUnknownOutcome: z.enum(['resend', 'hold']).optional(),
  /** Set by an operator's release of a held delivery: the request id whose unknown outcome the operator accepted. */
  releasedAttempt: z.string().optional(),
  chain: z.object({ head: z.string().min(1), link: z.number().int().min(0), step: z.number().int().min(0) }).optional(),
  sendWindow: z.object({
    fromMinute: z.number().int().min(0).max(1439),
    toMinute: z.number().int().min(0).max(1439),
    days: z.array(z.enum(WEEKDAYS)),
    timeZone: z.string().refine(isValidTimeZone, 'must be an IANA time zone'),
    spreadMs: z.number().min(0),
  }).optional(),
});

/**
 * A job put in a queue by hand (or by an older version) may be malformed: it fails at once, unrecoverable, with a
 * reason naming the field — never retried, never crashing the worker.
 */
export function parseDeliveryJob<P>(job: Job, def: VendorDefinition<P>): DeliveryJobData<P> {
  const outer = envelope.safeParse(job.data);
  if (!outer.success) throw invalidJob(job, describeIssues(outer.error));
  if (outer.data.vendor !== def.name) throw invalidJob(job, [`vendor: is "${outer.data.vendor}", this queue delivers ${def.name}`]);
  const payload = def.payloadSchema.safeParse(outer.data.payload);
  if (!payload.success) throw invalidJob(job, describeIssues(payload.error, { prefix: 'payload.', root: 'payload' }));
  return { ...outer.data, payload: payload.data };
}
