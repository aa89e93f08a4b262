import { Writable } from 'node:stream';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { AppConfig } from '../../src/config/env.js';
import { createApiServer, type ApiServer } from '../../src/http/server.js';
import { createLogger } from '../../src/runtime/logger.js';
import { testConfig } from '../support/config.js';

export const INGEST_TOKEN = 'ingest-token-0123456789abcdef';
export const ORDERS_READ_TOKEN = 'orders-read-token-0123456789abcdef';
export const DASHBOARD_USER = 'ops';
export const DASHBOARD_PASSWORD = 'dashboard-password-42x';
export const OPERATOR_USER = 'oncall';
export const OPERATOR_PASSWORD = 'operator-password-0123456789';

export interface RunningApi {
  api: ApiServer;
  url: string;
  config: AppConfig;
  logs: string[];
  close(): Promise<void>;
}

/** The API on a free port against a test Redis, logs captured in memory. */
export async function startApi(redisUrl: string, env: Record<string, string> = {}): Promise<RunningApi> {
  const config = testConfig(redisUrl, {
    INGEST_TOKEN, ORDERS_READ_TOKEN, DASHBOARD_USER, DASHBOARD_PASSWORD, LOG_LEVEL: 'info', ...env,
  });
  const logs: string[] = [];
  const destination = new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } });
  const logger = createLogger({ level: 'info', destination });
  const api = await createApiServer({ config, logger });
  const { url } = await api.listen({ port: 0, host: '127.0.0.1' });
  return { api, url, config, logs, close: () => api.close() };
}

export function basicAuth(user = DASHBOARD_USER, password = DASHBOARD_PASSWORD): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** token null = no Authorization header. */
export function postEvent(url: string, body: unknown, token: string | null = INGEST_TOKEN): Promise<Response> {
  return fetch(`${url}/v1/events/order-paid`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}
/** Puts one failed job into a delivery queue the way a real vendor refusal does (a worker throws). */
export async function failOneJob(redisUrl: string, prefix: string, queueName: string, id: string, reason = 'vendor said no'): Promise<void> {
  const queue = new Queue(queueName, { connection: { url: redisUrl }, prefix });
  await queue.add('delivery', { orderId: id }, { jobId: id, attempts: 1 });
  const failed = new Promise<void>((resolve) => {
    const worker = new Worker(queueName, async () => { throw new UnrecoverableError(reason); }, { connection: { url: redisUrl }, prefix });
    worker.on('failed', (job) => { if (job?.id === id) void worker.close().then(resolve); });
  });
  await failed;
  await queue.close();
}

