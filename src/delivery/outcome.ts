import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { isVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError } from './errors.js';

/**
 * The one mapping of the error taxonomy (delivery/errors.ts) onto BullMQ, used by every worker that calls out:
 * the delivery worker, the results webhook and the Twin24 correlator.
 *
 *   permanent    → UnrecoverableError (failed at once; the message says what a person must change)
 *   rate_limited → the worker's pause (queue.rateLimit for a queue of deliveries), then BullMQ's RateLimitError:
 *                  the job goes back to wait without using up an attempt. A worker whose jobs must not wait
 *                  (a scheduled tick) says so by answering 'fail': the attempt fails with the error instead.
 *   retryable, auth_expired → the error itself: BullMQ retries with the queue's backoff until attempts run out.
 *
 * Bad job input is not a vendor failure: `invalidJob` fails it at once, naming the field.
 */
export interface FailureContext {
  job: Pick<Job, 'attemptsMade' | 'opts'>;
  /** Used when a 429 carried no Retry-After. */
  defaultPauseMs: number;
  /** Pause the caller for `ms`; 'requeue' sends the job back to wait, 'fail' fails this attempt. */
  pause(ms: number): Promise<'requeue' | 'fail'>;
}

export interface Outcome {
  /** What the processor throws. */
  thrown: Error;
  error: VendorError;
  /** No further attempt will be made (permanent, or the last attempt failed). */
  final: boolean;
  /** Set when the failure paused the worker. */
  pauseMs?: number;
}

/** Anything a call can throw, as the taxonomy (an unknown error is retryable: we cannot say it was refused). */
export function asVendorError(e: unknown, target: string): VendorError {
  return isVendorError(e) ? e : new RetryableVendorError(e instanceof Error ? e.message : String(e), { vendor: target }, { cause: e });
}

export async function mapFailure(error: VendorError, ctx: FailureContext): Promise<Outcome> {
  if (error instanceof RateLimitedVendorError) {
    const pauseMs = Math.max(1, error.retryAfterMs ?? ctx.defaultPauseMs);
    const how = await ctx.pause(pauseMs);
    if (how === 'requeue') return { thrown: Worker.RateLimitError(), error, final: false, pauseMs };
    return { thrown: error, error, final: isLastAttempt(ctx.job), pauseMs };
  }
  if (error.kind === 'permanent') return { thrown: new UnrecoverableError(error.message), error, final: true };
  return { thrown: error, error, final: isLastAttempt(ctx.job) };
}

export function isLastAttempt(job: Pick<Job, 'attemptsMade' | 'opts'>): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/** A job whose data this worker cannot use: failed at once, with every problem named. */
export function invalidJob(job: Pick<Job, 'name' | 'id'>, problems: string | readonly string[]): UnrecoverableError {
  return new UnrecoverableError(`invalid ${job.name} job ${job.id}: ${typeof problems === 'string' ? problems : problems.join('; ')}`);
}
