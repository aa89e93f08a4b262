import type { Job, Queue, Worker } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import type { VendorError } from '../delivery/errors.js';
import type { VendorCallMetrics } from '../delivery/types.js';
import { invalidJob, mapFailure } from '../delivery/outcome.js';
import { issuesText } from '../events/zod-issues.js';
import { classifyHttpFailure, classifyStatus } from '../http-client/classify.js';
import { isSuccess, request } from '../http-client/request.js';
import { QUEUES } from '../queues/names.js';
import { queueAt, retryingWorkerOptions, workerAt } from '../queues/options.js';
import type { RedisConnection } from '../queues/connection.js';
import { closeWorker } from '../runtime/close-worker.js';
import type { Logger } from '../runtime/logger.js';
import { createVendorHttp } from '../http-client/instance.js';
import { notificationsOf, type OrderNotification } from './handback.js';
import { ZodError } from 'zod';
import { openQueue, openWorker } from '../queues/open-queue.js';
import { signWebhook, webhookSigners, type WebhookSigner } from './webhook-signature.js';

/**
 * The optional webhook leg of the hand-back: each `order.notification` is POSTed to RESULTS_WEBHOOK_URL, signed by
 * the Standard Webhooks scheme (see webhook-signature.ts; the id and timestamp are signed with the body, so a
 * captured request cannot be replayed later), with retries and jittered backoff like a vendor delivery.
 */
const TARGET = 'results-webhook';
/** POSTs in flight at once for one batch job. */
const BATCH_CONCURRENCY = 8;

/** Indexes of a batch the receiver accepted in earlier attempts (kept in the job's progress). */
function acceptedBefore(progress: unknown): number[] {
  const accepted = (progress as { accepted?: unknown } | undefined)?.accepted;
  return Array.isArray(accepted) ? accepted.filter((i): i is number => Number.isInteger(i)) : [];
}

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
  const http = createVendorHttp({ deadlineMs: config.delivery.vendorTimeoutMs, maxResponseBytes: config.delivery.maxResponseBytes });
  const queue = openQueue(QUEUES.webhook, { connection, ...queueAt(config.keys, QUEUES.webhook) }, logger);

  /**
   * A job carries one notification or a batch (RESULTS_BATCH_MAX). Each is one POST; a batch's are posted a few at a
   * time, and the job's progress lists those accepted, so a retry posts only the others (one attempt per round,
   * not per notification). A receiver still dedupes by webhook-id, the event id.
   */
  async function process(job: Job): Promise<{ status: number; posted: number }> {
    let notifications: OrderNotification[];
    try {
      notifications = notificationsOf(job.data);
    } catch (e) {
      throw invalidJob(job, e instanceof ZodError ? issuesText(e) : String(e));
    }
    const done = new Set<number>(acceptedBefore(job.progress));
    const todo = notifications.map((_, i) => i).filter((i) => !done.has(i));
    const failures: Array<{ failure: VendorError; notification: OrderNotification }> = [];
    let status = 0;
    for (let from = 0; from < todo.length; from += BATCH_CONCURRENCY) {
      await Promise.all(todo.slice(from, from + BATCH_CONCURRENCY).map(async (i) => {
        const answer = await post(notifications[i]!);
        if (typeof answer === 'number') {
          status = answer;
          done.add(i);
        } else {
          failures.push({ failure: answer, notification: notifications[i]! });
        }
      }));
    }
    if (!failures.length) return { status, posted: todo.length };
    if (notifications.length > 1 && done.size) await job.updateProgress({ accepted: [...done] });
    // A 429 pauses the queue whichever notification met it; otherwise the first failure decides retry or give up.
    const { failure, notification } = failures.find((f) => f.failure.kind === 'rate_limited') ?? failures[0]!;
    const log = { eventId: notification.eventId, orderId: notification.orderId, attempt: job.attemptsMade + 1, failed: failures.length, of: notifications.length };
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

  /** One signed POST: the receiver's status when it accepted, else the failure in the shared taxonomy. */
  async function post(notification: OrderNotification): Promise<number | VendorError> {
    // Serialise once; these exact bytes are signed and sent.
    const body = JSON.stringify(notification);
    // webhook-id is the event id: the same on every retry, so a receiver drops a duplicate by it.
    const headers = { 'content-type': 'application/json', ...signWebhook(signers, notification.eventId, new Date(), body) };
    try {
      const answer = await request(http, { target: TARGET, endpoint: 'post', url: webhookUrl!, body, headers, metrics: deps.metrics });
      if (isSuccess(answer)) {
        logger.debug({ eventId: notification.eventId, status: answer.status }, 'webhook delivered');
        return answer.status;
      }
      return classifyStatus(answer, TARGET);
    } catch (e) {
      return classifyHttpFailure(e, TARGET);
    }
  }

  const worker = openWorker(QUEUES.webhook, process, {
    connection,
    ...workerAt(config.keys, QUEUES.webhook),
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
