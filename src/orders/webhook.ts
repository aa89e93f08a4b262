import type { Job, Queue, Worker } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import type { VendorError } from '../delivery/errors.js';
import type { VendorCallMetrics } from '../delivery/types.js';
import { invalidJob, mapFailure } from '../delivery/outcome.js';
import { issuesText } from '../events/zod-issues.js';
import { classifyHttpFailure, classifyStatus } from '../http-client/classify.js';
import { isSuccess, request } from '../http-client/request.js';
import { QUEUES } from '../queues/names.js';
import { retryingWorkerOptions } from '../queues/options.js';
import type { RedisConnection } from '../queues/connection.js';
import { closeWorker } from '../runtime/close-worker.js';
import type { Logger } from '../runtime/logger.js';
import { createVendorHttp } from '../http-client/instance.js';
import { orderNotificationSchema } from './handback.js';
import { openQueue, openWorker } from '../queues/open-queue.js';
import { signWebhook, webhookSigners, type WebhookSigner } from './webhook-signature.js';

/**
 * The optional webhook leg of the hand-back: each `order.notification` is POSTed to RESULTS_WEBHOOK_URL, signed by
 * the Standard Webhooks scheme (see webhook-signature.ts; the id and timestamp are signed with the body, so a
 * captured request cannot be replayed later), with retries and jittered backoff like a vendor delivery.
 */
const TARGET = 'results-webhook';

export interface WebhookWorkerDeps {
  config: AppConfig;
  connection: RedisConnection;
  logger: Logger;
  /** Webhook latency lands in the vendor-call histogram under `results-webhook`. */
  metrics?: VendorCallMetrics;
  autorun?: boolean;
}

export function createWebhookWorker(deps: WebhookWorkerDeps): { worker: Worker; queue: Queue; close(timeoutMs?: number): Promise<void> } {
  const { config, connection } = deps;
  const { webhookUrl, webhookSecret } = config.results;
  if (!webhookUrl || !webhookSecret) throw new Error('results-webhook needs RESULTS_WEBHOOK_URL and RESULTS_WEBHOOK_SECRET');
  const signers: WebhookSigner[] = webhookSigners(webhookSecret);
  const logger = deps.logger.child({ worker: TARGET, host: new URL(webhookUrl).host });
  const prefix = config.queuePrefix;
  const http = createVendorHttp({ deadlineMs: config.delivery.vendorTimeoutMs, maxResponseBytes: config.delivery.maxResponseBytes });
  const queue = openQueue(QUEUES.webhook, { connection, prefix }, logger);

  async function process(job: Job): Promise<{ status: number }> {
    const parsed = orderNotificationSchema.safeParse(job.data);
    if (!parsed.success) {
      throw invalidJob(job, issuesText(parsed.error));
    }
    // Serialise once; these exact bytes are signed and sent.
    const body = JSON.stringify(parsed.data);
    // webhook-id is the event id: the same on every retry, so a receiver drops a duplicate by it.
    const headers = { 'content-type': 'application/json', ...signWebhook(signers, parsed.data.eventId, new Date(), body) };
    const log = { eventId: parsed.data.eventId, orderId: parsed.data.orderId, attempt: job.attemptsMade + 1 };
    let failure: VendorError;
    try {
      const answer = await request(http, { target: TARGET, endpoint: 'post', url: webhookUrl!, body, headers, metrics: deps.metrics });
      if (isSuccess(answer)) {
        logger.debug({ ...log, status: answer.status }, 'webhook delivered');
        return { status: answer.status };
      }
      failure = classifyStatus(answer, TARGET);
    } catch (e) {
      failure = classifyHttpFailure(e, TARGET);
    }
    const { thrown, error, final, pauseMs } = await mapFailure(failure, {
      job,
      defaultPauseMs: config.delivery.defaultRateLimitPauseMs,
      async pause(ms) {
        await queue.rateLimit(ms);
        logger.warn({ ...log, pauseMs: ms }, 'webhook receiver rate-limited us; pausing');
        return 'requeue';
      },
    });
    if (pauseMs === undefined) logger[final ? 'error' : 'warn']({ ...log, reason: error.message }, final ? 'webhook failed' : 'webhook attempt failed; will retry');
    throw thrown;
  }

  const worker = openWorker(QUEUES.webhook, process, {
    connection,
    prefix,
    concurrency: 16,
    autorun: deps.autorun ?? true,
    ...retryingWorkerOptions(config),
  }, logger);
  return {
    worker,
    queue,
    async close(timeoutMs = config.shutdownTimeoutMs) {
      await closeWorker(worker, timeoutMs, logger);
      await queue.close();
    },
  };
}
