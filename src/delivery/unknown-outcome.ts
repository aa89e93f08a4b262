import type { Job, Queue } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import type { Metrics } from '../observability/metrics.js';
import type { OrderRecords } from '../orders/record.js';
import type { Logger } from '../runtime/logger.js';
import type { VendorDefinition } from '../vendors/types.js';
import type { HeldDeliveries } from './held.js';
import { parseDeliveryJob } from './job-data.js';
import type { AttemptMarker, DeliveryLedger } from './ledger.js';
import { STALLED_OUT_REASON } from './stalled.js';
import type { DeliveryJobData } from './types.js';

export interface UnknownOutcomeDeps {
  vendor: string;
  def: VendorDefinition<unknown>;
  config: Pick<AppConfig, 'locks'>;
  queue: Queue;
  ledger: DeliveryLedger;
  held: HeldDeliveries;
  records: OrderRecords;
  metrics: Pick<Metrics, 'unknownOutcomes' | 'deliveries'>;
  logger: Logger;
}

/**
 * What the delivery worker does when it cannot know whether the vendor got a delivery: an earlier request left
 * and no answer came (the route's onUnknownOutcome decides: resend or hold), or BullMQ failed the job because its
 * workers kept dying (record and hand-back say failed, with the reason).
 */
export function unknownOutcomes(deps: UnknownOutcomeDeps) {
  const { vendor, ledger, held, records, metrics, logger } = deps;

  /** A re-run found an attempt with no known outcome and the route says hold: park it for an operator. */
  async function hold(job: Job, data: DeliveryJobData, attempt: AttemptMarker): Promise<{ held: true }> {
    await held.hold({ job: data, attempt, heldAt: new Date().toISOString() });
    await records.update(data.orderId, data.deliveryId, {
      vendor, ruleId: data.ruleId, status: 'unknown', attempts: job.attemptsMade + 1,
      reason: `outcome unknown: request ${attempt.requestId} left at ${attempt.at} and no answer arrived; held (route onUnknownOutcome: hold). ` +
        `Release with "order-notify held release ${data.deliveryId} --send" or "--drop"`,
    });
    metrics.unknownOutcomes.inc({ vendor, action: 'held' });
    logger.warn({ orderId: data.orderId, rule: data.ruleId, requestId: attempt.requestId }, 'outcome of an earlier attempt unknown; held for an operator');
    return { held: true };
  }

  return {
    /** Before sending: 'send', or the job's result when the delivery is held. */
    /** `attempt`: the delivery's attempt marker, read with its ledger entry (DeliveryLedger.lookup). */
    async beforeSend(job: Job, data: DeliveryJobData, attempt: AttemptMarker | undefined): Promise<'send' | { held: true }> {
      if (!attempt || attempt.requestId === data.releasedAttempt) return 'send';
      if (data.onUnknownOutcome === 'hold') return hold(job, data, attempt);
      // resend (at-least-once): none of our vendors can be asked whether a request arrived (docs/reliability.md).
      metrics.unknownOutcomes.inc({ vendor, action: 'resent' });
      logger.warn({ orderId: data.orderId, rule: data.ruleId, requestId: attempt.requestId, sentAt: attempt.at },
        'outcome of an earlier attempt unknown; sending again (route onUnknownOutcome: resend)');
      return 'send';
    },

    /** BullMQ failed the job in Redis after too many stalls: finish its record and hand-back with the reason. */
    async stalledOut(jobId: string, queue: Queue = deps.queue): Promise<void> {
      const job = await queue.getJob(jobId);
      if (!job) return;
      const data = parseDeliveryJob(job, deps.def);
      if (await ledger.find(data.deliveryId)) return; // acknowledged before the last stop: the record says sent
      await records.update(data.orderId, data.deliveryId, {
        vendor, ruleId: data.ruleId, status: 'failed', finalAt: new Date().toISOString(), attempts: job.attemptsMade + 1,
        reason: `${STALLED_OUT_REASON}: the worker running it stopped ${deps.config.locks.maxStalledCount + 1} times (killed, or blocked ` +
          `past the lock); whether the vendor got it is unknown. "order-notify retry-failed --vendor ${vendor}" tries again`,
      });
      metrics.deliveries.inc({ vendor, outcome: 'failed' });
      logger.error({ orderId: data.orderId, rule: data.ruleId, jobId }, 'delivery failed: stalled more than allowed');
    },
  };
}
