import { parseDuration, rateLimit } from '../../src/config/duration.js';
import { readRepoFile } from './support.js';

/**
 * The replica cap of a delivery worker, as docs/autoscaling.md derives it. The vendor's rate limit R (requests/s) is
 * shared by every pod through Redis, so pods beyond what R keeps busy only wait on the limiter:
 * - pods to keep R busy when every request takes the full VENDOR_TIMEOUT L: ceil(R × L / DELIVERY_CONCURRENCY);
 * - pods for the CPU of R × BATCH_MAX deliveries/s: ceil(R × B × CPU per delivery / the pod's CPU limit);
 * the larger of the two, + 1 so a rollout or an evicted pod never halves the send rate.
 */
export interface CapInputs { requestsPerSec: number; timeoutS: number; concurrency: number; batchMax: number }

/**
 * Worker CPU per delivery, ms, from `npm run bench -- throughput` (bench/RESULTS.md): 0.3–0.6 ms for the batching
 * MantaGO and Twin24 workers, where the CPU term can matter (R × 100 deliveries/s); ~1.1 ms for Metabot on a loaded
 * machine, where one recipient per request keeps the term far below one core.
 */
export const WORKER_CPU_MS_PER_DELIVERY = 1;

export function vendorReplicaCap(i: CapInputs, cpuLimitCores: number): number {
  const forRate = Math.ceil((i.requestsPerSec * i.timeoutS) / i.concurrency);
  const forCpu = Math.ceil((i.requestsPerSec * i.batchMax * WORKER_CPU_MS_PER_DELIVERY) / 1000 / cpuLimitCores);
  return Math.max(1, forRate, forCpu) + 1;
}

/** A setting from the deployment's env, else its default as .env.example documents it (`# KEY=value`). */
function setting(env: Record<string, string>, key: string): string | undefined {
  if (env[key] !== undefined) return env[key];
  return new RegExp(`^#? ?${key}=(.+)$`, 'm').exec(readRepoFile('.env.example'))?.[1]?.trim();
}

export function capInputs(vendor: string, env: Record<string, string>): CapInputs {
  // The generic HTTP vendor's settings are HTTP_VENDOR_* (HTTP_* alone are the API's).
  const V = vendor === 'http' ? 'HTTP_VENDOR' : vendor.toUpperCase();
  const limit = rateLimit.parse(setting(env, `${V}_RATE_LIMIT`));
  return {
    requestsPerSec: (limit.max * 1000) / limit.durationMs,
    timeoutS: parseDuration(setting(env, 'VENDOR_TIMEOUT') ?? '10s')! / 1000,
    concurrency: Number(setting(env, 'DELIVERY_CONCURRENCY') ?? 100),
    batchMax: Number(setting(env, `${V}_BATCH_MAX`) ?? 1), // non-batching vendors send one recipient per request
  };
}

/** "1" → 1, "500m" → 0.5. */
export function cpuCores(value: string | number | undefined): number {
  if (value === undefined) return 1;
  const s = String(value);
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
}

/**
 * The KEDA prometheus query of a delivery worker: its vendor's due jobs, summed over the vendor's partitions
 * (`deliver-metabot` or `deliver-metabot-<k>`), max() per queue since every order-notify pod reports every queue.
 */
export function autoscalingQuery(deliveryQueue: string): string {
  return `sum(max by (queue) (order_notify_queue_jobs_due{queue=~"${deliveryQueue}(-[0-9]+)?"}))`;
}
