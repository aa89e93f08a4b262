import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORRELATE_SCHEDULER_ID, upsertCorrelateScheduler } from '../../src/vendors/twin24/correlation/worker.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createRedis } from '../../src/queues/connection.js';
import { QUEUES } from '../../src/queues/names.js';
import { startComponents, type RunningComponent } from '../../src/app/components.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { sandboxEnv, testConfig } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { silent } from './rig.js';

const EVERY = 250;

describe('correlator scheduler (BullMQ job scheduler, several replicas)', () => {
  let redis: TestRedis;
  let sandbox: Sandbox;
  beforeAll(async () => {
    redis = await startRedis();
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    await sandbox?.close();
    await redis?.stop();
  });

  it('3 concurrent upserts leave one scheduler', async () => {
    const config = testConfig(redis.url, sandboxEnv(sandbox));
    const queues = [0, 1, 2].map(() => new Queue(QUEUES.correlate, { connection: redis.client(), prefix: config.queuePrefix }));
    await Promise.all(queues.map((q) => upsertCorrelateScheduler(q, EVERY)));
    await Promise.all(queues.map((q) => upsertCorrelateScheduler(q, EVERY)));
    const schedulers = await queues[0]!.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: CORRELATE_SCHEDULER_ID, every: EVERY });
    // One scheduled tick waiting, not three.
    expect((await queues[0]!.getJobs(['delayed', 'waiting'])).length).toBe(1);
    await Promise.all(queues.map((q) => q.close()));
  });

  it('3 replicas started at once run one tick per interval', async () => {
    const config = testConfig(redis.url, { ...sandboxEnv(sandbox), TWIN24_POLL_EVERY: `${EVERY}ms` });
    const connections = [0, 1, 2].map(() => createRedis(config.redis, 'worker'));
    const replicas: RunningComponent[][] = await Promise.all(connections.map((connection) =>
      startComponents(['twin24-correlator'], { config, connection, metrics: new Metrics({ defaultMetrics: false }), logger: silent })));
    const queue = new Queue(QUEUES.correlate, { connection: redis.client(), prefix: config.queuePrefix });
    try {
      expect(await queue.getJobSchedulers()).toHaveLength(1);
      const done = await waitFor(async () => {
        const jobs = await queue.getJobs(['completed']);
        return jobs.length >= 8 && jobs;
      }, '8 completed ticks', 15_000);
      // Scheduler job ids carry the tick's scheduled instant: one job per instant, instants one interval apart.
      const instants = done.map((j) => Number(String(j.id).split(':').at(-1))).sort((a, b) => a - b);
      expect(new Set(instants).size).toBe(instants.length);
      const gaps = instants.slice(1).map((t, i) => t - instants[i]!);
      for (const gap of gaps) expect(gap).toBe(EVERY);
      expect(done.every((j) => j.name === 'twin24.correlate')).toBe(true);
      // Ticks were processed by whichever replica took them, and none failed.
      expect(await queue.getJobs(['failed'])).toHaveLength(0);
    } finally {
      await Promise.all(replicas.flat().map((c) => c.close(2_000)));
      await queue.close();
      for (const c of connections) c.disconnect();
    }
  });
});
