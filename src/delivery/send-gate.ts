import { DelayedError, type Job } from 'bullmq';
import type { DeliveryJobData } from './types.js';

/**
 * A last look right before a delivery is sent (after the ledger check, before batching). Quiet hours may hold it
 * (the same job moves back to delayed: same id, same record, same ledger entry, no attempt used); a fallback
 * chain may cancel it because an earlier link reached the customer meanwhile.
 */
export type SendDecision =
  | { kind: 'send' }
  | { kind: 'hold'; delayMs: number; scheduledFor: string }
  | { kind: 'cancel'; reason: string };

export interface SendGate {
  check(data: DeliveryJobData): Promise<SendDecision>;
}

/** Moves a held job back to delayed; BullMQ wants DelayedError thrown after that (the job is not failed). */
export async function holdJob(job: Job, token: string | undefined, delayMs: number): Promise<never> {
  await job.moveToDelayed(Date.now() + Math.max(1, delayMs), token);
  throw new DelayedError();
}
