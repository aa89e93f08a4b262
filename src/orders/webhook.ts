import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { AppConfig } from '../config/env.js';
import { RateLimitedVendorError } from '../delivery/errors.js';
import { classifyHttpFailure } from '../delivery/http-failure.js';
import { QUEUES } from '../queues/names.js';
import { retryingWorkerOptions } from '../queues/options.js';
import type { RedisConnection } from '../queues/connection.js';
import { closeWorker } from '../runtime/close-worker.js';
import type { Logger } from '../runtime/logger.js';
import { createVendorHttp } from '../vendors/http.js';
import { orderNotificationSchema } from './handback.js';
import { openQueue, openWorker } from '../queues/open-queue.js';

/**
 * The optional webhook leg of the hand-back: each `order.notification` is POSTed to RESULTS_WEBHOOK_URL, signed
 * with HMAC-SHA256 over the exact body bytes, with retries and jittered backoff like a vendor delivery.
 */
export const SIGNATURE_HEADER = 'x-order-notify-signature';
export const TIMESTAMP_HEADER = 'x-order-notify-timestamp';
export const EVENT_HEADER = 'x-order-notify-event';
const TARGET = 'results-webhook';

/** `sha256=<hex>` of HMAC-SHA256(secret, body). Sign the bytes you send; verify the bytes you received. */
export function signWebhookBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Constant-time check of a received signature header against the raw body. */
export function verifyWebhookSignature(rawBody: string | Buffer, header: string | undefined, secret: string): boolean {
  if (!header) return false;
  const expected = Buffer.from(signWebhookBody(rawBody, secret));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface WebhookWorkerDeps {
  config: AppConfig;
  connection: RedisConnection;
  logger: Logger;
  autorun?: boolean;
}

export function createWebhookWorker(deps: WebhookWorkerDeps): { worker: Worker; queue: Queue; close(timeoutMs?: number): Promise<void> } {
  const { config, connection } = deps;
  const { webhookUrl, webhookSecret } = config.results;
  if (!webhookUrl || !webhookSecret) throw new Error('results-webhook needs RESULTS_WEBHOOK_URL and RESULTS_WEBHOOK_SECRET');
  const logger = deps.logger.child({ worker: TARGET, host: new URL(webhookUrl).host });
  const prefix = config.queuePrefix;
  const http = createVendorHttp(config.delivery.vendorTimeoutMs);
  const queue = openQueue(QUEUES.webhook, { connection, prefix }, logger);

  async function process(job: Job): Promise<{ status: number }> {
    const parsed = orderNotificationSchema.safeParse(job.data);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`).join('; ');
      throw new UnrecoverableError(`invalid ${job.name} job ${job.id}: ${fields}`);
    }
    // Serialise once; these exact bytes are signed and sent.
    const body = JSON.stringify(parsed.data);
    const headers = {
      'content-type': 'application/json',
      [SIGNATURE_HEADER]: signWebhookBody(body, webhookSecret!),
      [TIMESTAMP_HEADER]: String(Math.floor(Date.now() / 1000)),
      [EVENT_HEADER]: parsed.data.eventId,
    };
    const log = { eventId: parsed.data.eventId, orderId: parsed.data.orderId, attempt: job.attemptsMade + 1 };
    try {
      const res = await http.post(webhookUrl!, body, { headers });
      logger.debug({ ...log, status: res.status }, 'webhook delivered');
      return { status: res.status };
    } catch (e) {
      const error = classifyHttpFailure(e, TARGET);
      if (error instanceof RateLimitedVendorError) {
        const ms = error.retryAfterMs ?? config.delivery.defaultRateLimitPauseMs;
        await queue.rateLimit(ms);
        logger.warn({ ...log, pauseMs: ms }, 'webhook receiver rate-limited us; pausing');
        throw Worker.RateLimitError();
      }
      const final = error.kind === 'permanent' || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      logger[final ? 'error' : 'warn']({ ...log, reason: error.message }, final ? 'webhook failed' : 'webhook attempt failed; will retry');
      throw error.kind === 'permanent' ? new UnrecoverableError(error.message) : error;
    }
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
