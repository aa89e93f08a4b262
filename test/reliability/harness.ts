import { Queue } from 'bullmq';
import { resolve } from 'node:path';
import type { RedisConnection } from '../../src/queues/connection.js';
import { deliveryQueueName } from '../../src/queues/names.js';
import { afterAll, beforeAll } from 'vitest';
import { startSandbox, type Sandbox, type SandboxVendor } from '../../src/sandbox/index.js';
import type { VendorName } from '../../src/vendors/registry.js';
import type { ChildWorker } from '../support/child-worker.js';
import { sandboxEnv } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';

/** Shared set-up of the fault scenarios: one place for the environment the real worker processes get. */

/** What one fault-scenario file runs on: its own redis-server, its own sandbox, and the worker processes it starts. */
export interface ReliabilityRig {
  redis: TestRedis;
  sandbox: Sandbox;
  /** Worker processes the tests start; SIGKILLed after the file if still running. */
  children: ChildWorker[];
}

/**
 * Starts the rig before the file's tests and tears it down after them (children first, so nothing writes to a
 * stopping Redis). `beforeTeardown` runs after the children are gone, while Redis still answers.
 */
export function useReliabilityRig(opts: { beforeTeardown?: (rig: ReliabilityRig) => Promise<unknown> } = {}): ReliabilityRig {
  const rig = { children: [] as ChildWorker[] } as unknown as ReliabilityRig;
  beforeAll(async () => {
    rig.redis = await startRedis();
    rig.sandbox = await startSandbox();
  });
  afterAll(async () => {
    for (const c of rig.children) await c.kill('SIGKILL');
    if (rig.redis) await opts.beforeTeardown?.(rig);
    await rig.sandbox?.close();
    await rig.redis?.stop();
  });
  return rig;
}

export const ROUTES_FILE = resolve('test/reliability/fixtures/routes.yaml');

export function uniquePrefix(tag: string): string {
  return `${tag}${Math.random().toString(36).slice(2, 7)}`;
}

/**
 * Environment of a worker process under test: every vendor on the sandbox, the two-vendor routes file, vendor rate
 * limits far above the load (the limiter is not what these tests are about), fast retries, short shutdown.
 */
export function workerEnv(redis: { url?: string; clusterNodes?: string[] }, prefix: string, sandbox: Sandbox, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(redis.clusterNodes ? { REDIS_CLUSTER_NODES: redis.clusterNodes.join(',') } : { REDIS_URL: redis.url! }),
    QUEUE_PREFIX: prefix,
    ROUTES_FILE,
    ...sandboxEnv(sandbox),
    METABOT_RATE_LIMIT: '100000/1s',
    JOINCHAT_RATE_LIMIT: '100000/1s',
    DELIVERY_BACKOFF: '100ms',
    DELIVERY_BACKOFF_MAX: '1s',
    SHUTDOWN_TIMEOUT: '2s',
    DASHBOARD_ENABLED: 'false',
    ...extra,
  };
}

/** The recipient each accepted vendor request was for (non-batching vendors: one request = one delivery). */
export function acceptedRecipients(sandbox: Sandbox, vendor: Extract<SandboxVendor, 'metabot' | 'joinchat'>): string[] {
  return sandbox.accepted(vendor).map((r) => {
    const body = r.body as { lead_id?: number; recipient?: { id?: string } } | null;
    return String(vendor === 'metabot' ? body?.lead_id : body?.recipient?.id);
  });
}

export function distinct(values: string[]): number {
  return new Set(values).size;
}

export interface JobCounts { waiting: number; active: number; delayed: number; completed: number; failed: number; prioritized: number }

/** Job counts of one delivery queue, read straight from Redis. */
export async function deliveryCounts(connection: RedisConnection, prefix: string, vendor: VendorName): Promise<JobCounts> {
  const queue = new Queue(deliveryQueueName(vendor), { connection, prefix });
  try {
    const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0, prioritized: c.prioritized ?? 0 };
  } finally {
    await queue.close();
  }
}

/** How many jobs BullMQ's stalled-job check moved back to wait, per queue (read from each queue's event stream). */
export async function stalledCounts(connection: RedisConnection, prefix: string, queues: string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const q of queues) {
    const events = (await connection.xrange(`${prefix}:${q}:events`, '-', '+')) as Array<[string, string[]]>;
    const n = events.filter(([, fields]) => fields[0] === 'event' && fields[1] === 'stalled').length;
    if (n) counts[q] = n;
  }
  return counts;
}
