import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRoutes } from '../../src/fanout/routes.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { deliveryQueueName } from '../../src/queues/names.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { testConfig } from '../support/config.js';
import { startFrontHalf } from '../support/pipeline.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor, sleep } from '../support/wait.js';

let redis: TestRedis;
let sandbox: Sandbox;
const children: ChildWorker[] = [];

beforeAll(async () => {
  redis = await startRedis();
  sandbox = await startSandbox();
});
afterAll(async () => {
  await Promise.all(children.map((c) => c.kill('SIGTERM')));
  await sandbox.close();
  await redis.stop();
});

describe('MantaGO token rotation across worker processes', () => {
  it('an expiry hitting 3 busy worker processes causes exactly one refresh and no failed delivery', async () => {
    const original = { ...sandbox.credentials.mantago };
    const env = {
      MANTAGO_BASE_URL: sandbox.urls.mantago, MANTAGO_BOT_ID: original.botId, MANTAGO_TOKEN: original.token, MANTAGO_SECRET: original.secret,
      MANTAGO_RATE_LIMIT: '100/1s', DELIVERY_BACKOFF: '50ms', DELIVERY_BACKOFF_MAX: '500ms',
    };
    const config = testConfig(redis.url, env);
    const childEnv = { ...env, REDIS_URL: redis.url, QUEUE_PREFIX: config.queuePrefix, LOG_LEVEL: 'info' };
    children.push(...await Promise.all([1, 2, 3].map(() => startChildWorker('workers/mantago.ts', childEnv, { keepLines: Infinity, readyTimeoutMs: 60_000 }))));

    // The example MantaGO rules without the Facebook queue delay: per order one batched intent + one personal text.
    const raw = parseYaml(readFileSync('config/routes.example.yaml', 'utf8')) as { rules: Array<Record<string, unknown>> };
    raw.rules = raw.rules.filter((r) => r.vendor === 'mantago').map((r) => ({ ...r, delay: undefined }));
    const front = startFrontHalf(config, parseRoutes(raw));
    const queue = new Queue(deliveryQueueName('mantago'), { connection: front.connection, prefix: config.queuePrefix });
    try {
      sandbox.setFaults('mantago', { latencyMs: 100 });
      const orders = 200;
      await front.producer.orderPaidBulk(Array.from({ length: orders }, (_, i) => ({
        ...SAMPLE_ORDER_PAID, orderId: `K-${i}`,
        customer: { ...SAMPLE_ORDER_PAID.customer, channels: { lineUserId: `L-${i}`, facebookUserId: `F-${i}` } },
      })));
      const broadcasts = () => sandbox.requests('mantago').filter((r) => r.path === '/openapi/broadcast');
      // Expire only once every process has delivered something, i.e. all three are working through the backlog.
      await waitFor(() => children.every((c) => c.logCount('delivered') > 0), 'all 3 processes delivering', 30_000);
      // A slow vendor keeps requests of every process in flight when the token expires (the sandbox checks the token
      // after the latency), so more than one process meets the refused pair — not left to scheduling luck.
      sandbox.setFaults('mantago', { latencyMs: 400 });
      await sleep(150);
      sandbox.expireToken('mantago');

      await waitFor(async () => {
        const c = await queue.getJobCounts('completed', 'failed');
        return (c.completed ?? 0) + (c.failed ?? 0) >= 2 * orders && c;
      }, 'every delivery finished', 60_000, 100);

      expect((await queue.getJobCounts('failed')).failed).toBe(0);
      const tokenCalls = sandbox.requests('mantago').filter((r) => r.path === '/openapi/token');
      expect(tokenCalls).toHaveLength(1);
      expect(tokenCalls[0]!.status).toBe(200);
      // The expiry really hit in-flight work: requests were refused with 1004 (and maybe 120000) before the rotation.
      expect(broadcasts().filter((r) => r.reason?.startsWith('1004')).length).toBeGreaterThan(0);
      const perClient = new Map<string, number>();
      for (const r of broadcasts().filter((x) => x.accepted)) {
        for (const id of (r.body as { clientIds: string[] }).clientIds) perClient.set(id, (perClient.get(id) ?? 0) + 1);
      }
      expect(perClient.size).toBe(2 * orders);
      expect([...perClient.values()].every((n) => n === 1)).toBe(true);

      // Every replica now reads the rotated pair from Redis; the new values never reached a log line.
      const rotated = sandbox.credentials.mantago;
      expect(rotated.token).not.toBe(original.token);
      const stored = JSON.parse((await front.connection.get(`${config.queuePrefix}:mantago:credentials:${original.botId}`))!);
      expect(stored).toMatchObject({ token: rotated.token, secret: rotated.secret });
      const logs = children.map((c) => c.output()).join('\n');
      expect(logs).toContain('MantaGO token refreshed');
      for (const value of [rotated.token, rotated.secret, original.token, original.secret]) expect(logs).not.toContain(value);
      const refreshingPids = new Set(logs.split('\n').filter((l) => l.includes('credentials expired')).map((l) => JSON.parse(l).pid));
      console.info(`[mantago rotation] ${refreshingPids.size} of 3 processes saw the expiry (${logs.split('\n').filter((l) => l.includes('credentials expired')).length} times); 1004 answers: ${
        broadcasts().filter((r) => r.reason?.startsWith('1004')).length}, 120000 answers: ${broadcasts().filter((r) => r.reason?.startsWith('120000')).length}`);
      // More than one process met the refused pair, so the cross-process single flight was really exercised.
      expect(refreshingPids.size).toBeGreaterThanOrEqual(2);
      expect(logs.split('\n').filter((l) => l.includes('will retry'))).toEqual([]);
    } finally {
      await queue.close();
      await front.close();
    }
  }, 180_000);
});
