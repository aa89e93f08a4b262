import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StartupError } from '../../src/runtime/exit-codes.js';
import { processComponents, startProcess } from '../../src/app/worker-process.js';
import { WORKER_COMPONENTS } from '../../src/app/components.js';
import { freePort } from '../support/ports.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { parseExposition, valueOf } from './fixtures/exposition.js';

const baseEnv = (redisUrl: string): NodeJS.ProcessEnv => ({
  REDIS_URL: redisUrl, QUEUE_PREFIX: `p${Math.random().toString(36).slice(2, 8)}`, LOG_LEVEL: 'silent',
  METRICS_PORT: '0', HTTP_PORT: '0', SHUTDOWN_TIMEOUT: '2s',
});

async function startupError(names: string[], env: NodeJS.ProcessEnv, redisReadyTimeoutMs?: number): Promise<StartupError> {
  const e = await startProcess(names, { env, host: '127.0.0.1', redisReadyTimeoutMs }).then(
    async (p) => { await p.close(); throw new Error('expected start-up to fail'); },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(StartupError);
  return e as StartupError;
}

describe('worker process assembly', () => {
  let redis: TestRedis;
  beforeAll(async () => { redis = await startRedis(); });
  afterAll(async () => { await redis?.stop(); });

  it('knows every worker component plus the API (the list comes from WORKER_COMPONENTS)', () => {
    expect(processComponents()).toEqual([...WORKER_COMPONENTS, 'api']);
  });

  it('a worker-only process serves /healthz, /readyz and /metrics on METRICS_PORT', async () => {
    const p = await startProcess(['fanout'], { env: baseEnv(redis.url), host: '127.0.0.1' });
    try {
      expect(p.api).toBeUndefined();
      const base = `http://127.0.0.1:${p.probes!.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      const families = parseExposition(await (await fetch(`${base}/metrics`)).text());
      expect(valueOf(families, 'order_notify_queue_jobs', { queue: 'orders', state: 'waiting' })).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('with the API in the process, /metrics is on METRICS_PORT only, never on the public HTTP_PORT', async () => {
    const env = { ...baseEnv(redis.url), INGEST_TOKEN: 'tok-0123456789-0123456789', DASHBOARD_ENABLED: 'false' };
    const p = await startProcess(['fanout', 'api'], { env, host: '127.0.0.1' });
    try {
      expect((await fetch(`${p.api!.url}/readyz`)).status).toBe(200);
      expect((await fetch(`${p.api!.url}/metrics`)).status).toBe(404);
      const probes = `http://127.0.0.1:${p.probes!.port}`;
      expect((await fetch(`${probes}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${probes}/metrics`)).text()).toContain('order_notify_queue_jobs');
    } finally {
      await p.close();
    }
  });

  it('refuses to start with an exit code that says why', async () => {
    expect((await startupError(['fanout', 'nope'], baseEnv(redis.url))).exitCode).toBe(1);
    const badEnv = await startupError(['fanout'], { ...baseEnv(redis.url), DELIVERY_ATTEMPTS: 'many' });
    expect(badEnv.exitCode).toBe(2);
    expect(badEnv.message).toContain('DELIVERY_ATTEMPTS');
    const badRoutes = await startupError(['fanout'], { ...baseEnv(redis.url), ROUTES_FILE: '/nonexistent/routes.yaml' });
    expect(badRoutes.exitCode).toBe(2);
    const open = await startupError(['api'], baseEnv(redis.url));
    expect(open.exitCode).toBe(2);
    expect(open.message).toContain('INGEST_TOKEN');
    const noRedis = await startupError(['fanout'], { ...baseEnv(`redis://:hunter2-password@127.0.0.1:${await freePort()}`) }, 300);
    expect(noRedis.exitCode).toBe(4);
    expect(noRedis.message).not.toContain('hunter2-password');
    const busy = await startupError(['fanout'], { ...baseEnv(redis.url), METRICS_PORT: String(redis.port) });
    expect(busy.exitCode).toBe(2);
    expect(busy.message).toContain('METRICS_PORT');
  });
});

describe('worker process readiness without Redis', () => {
  it('/readyz turns 503 when Redis goes away, /healthz stays 200, and close() still returns', async () => {
    const redis = await startRedis();
    const p = await startProcess(['fanout'], { env: baseEnv(redis.url), host: '127.0.0.1' });
    const base = `http://127.0.0.1:${p.probes!.port}`;
    await redis.stop();
    const ready = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(10_000) });
    expect(ready.status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = parseExposition(await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) })).text());
    expect(valueOf(metrics, 'order_notify_redis_up')).toBe(0);
    await p.close();
  });
});
