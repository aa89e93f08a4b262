import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKER_COMPONENTS } from '../../src/app/components.js';
import { startProcess } from '../../src/app/worker-process.js';
import { loadConfig } from '../../src/config/env.js';
import { recordsFor } from '../../src/orders/handback.js';
import { createProducer } from '../../src/producer/producer.js';
import { createRedis, waitReady } from '../../src/queues/connection.js';
import { QUEUES } from '../../src/queues/names.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { testOrders } from '../support/orders.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait.js';
import { workerEnv } from './harness.js';

/**
 * REDIS_KEY_LAYOUT=per-queue with partitions on a 3-master Redis Cluster: every component in one process (fan-out,
 * the four vendors with Metabot in 3 partitions and Twin24 in 2, the correlator, the hand-back), no cross-slot
 * error anywhere: each queue, partition and the keys beside it hash by their own tag.
 */
describe('Redis Cluster (3 masters), per-queue key layout with partitions', () => {
  let cluster: TestRedisCluster;
  let sandbox: Sandbox;
  beforeAll(async () => { cluster = await startRedisCluster(3); sandbox = await startSandbox(); });
  afterAll(async () => { await sandbox?.close(); await cluster?.stop(); });
  it('every component, every vendor: each delivery reaches its final status, no CROSSSLOT/MOVED, one metric series per partition', async () => {
    const env = workerEnv({ clusterNodes: cluster.nodes }, 'onpq', sandbox, {
      REDIS_KEY_LAYOUT: 'per-queue', QUEUE_PARTITIONS: 'metabot=3,twin24=2', ROUTES_FILE: 'config/routes.example.yaml', METRICS_PORT: '0', LOG_LEVEL: 'warn', TWIN24_POLL_EVERY: '1s',
    });
    const logs: string[] = [];
    const proc = await startProcess([...WORKER_COMPONENTS], { env, host: '127.0.0.1', logDestination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }) });
    const config = loadConfig({ ...env, LOG_LEVEL: 'silent' });
    const producer = createProducer({ clusterNodes: cluster.nodes, prefix: config.queuePrefix, keyLayout: config.keyLayout });
    const conn = createRedis(config.redis, 'worker');
    await waitReady(conn, 10_000);
    const records = recordsFor(config, conn);
    try {
      const orders = testOrders('pqc', 12, ['lineUserId', 'messenger', 'metabotLeadId', 'whatsappPhone'], 900);
      await producer.orderPaidBulk(orders);
      const twin24Final = new Set(['correlated', 'undelivered', 'error', 'expired']);
      await waitFor(async () => (await Promise.all(orders.map((o) => records.get(o.orderId)))).every((r) => {
        const primaries = r?.deliveries.filter((d) => d.status !== 'skipped' && (!d.chain || d.chain.link === 0)) ?? [];
        return primaries.length === 4 && primaries.every((d) => (d.vendor === 'twin24' ? twin24Final.has(d.status) : d.status === 'sent'));
      }), 'MantaGO, JoinChat and Metabot sent, each Twin24 message at a final status', 60_000, 250);
      const scrape = await proc.metrics.scrape();
      expect(scrape).toContain('queue="deliver-metabot-2"');
      expect(logs.filter((l) => /CROSSSLOT|MOVED|\bASK\b|"level":(50|60)|"level":"(error|fatal)"/.test(l))).toEqual([]);
    } finally {
      conn.disconnect();
      await producer.close();
      await proc.close();
    }
  });
});
