import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer, type OrderNotifyProducer } from '../../src/producer/producer.js';
import { createRedis, waitReady } from '../../src/queues/connection.js';
import { createLogger } from '../../src/runtime/logger.js';
import { checkRedis } from '../../src/runtime/redis-checks.js';
import { WORKER_COMPONENTS } from '../../src/app/components.js';
import { startProcess } from '../../src/app/worker-process.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { countPerRecipient, testOrders } from '../support/orders.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { waitFor } from '../support/wait.js';
import { acceptedRecipients, workerEnv } from './harness.js';

/**
 * Scenario 6: a local 3-master Redis Cluster. With QUEUE_PREFIX={order-notify} (one hash slot for every key) and
 * REDIS_CLUSTER_NODES, the whole path works unchanged: producer and HTTP ingest → fan-out process → vendor worker
 * processes → sandbox → per-order record read back through the producer.
 */
const PREFIX = '{order-notify}';
const INGEST_TOKEN = 'cluster-ingest-token-0123456789';

describe('Redis Cluster (3 masters)', () => {
  let cluster: TestRedisCluster;
  let sandbox: Sandbox;
  let producer: OrderNotifyProducer;
  const children: ChildWorker[] = [];
  let api: ChildWorker;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    sandbox = await startSandbox();
    const env = workerEnv({ clusterNodes: cluster.nodes }, PREFIX, sandbox, { INGEST_TOKEN });
    children.push(...await Promise.all([
      startChildWorker('workers/fanout.ts', env),
      startChildWorker('workers/metabot.ts', env),
      startChildWorker('workers/joinchat.ts', env),
      startChildWorker('workers/api.ts', env, { portVariable: 'HTTP_PORT' }),
    ]));
    api = children[3]!;
    producer = createProducer({ clusterNodes: cluster.nodes, prefix: PREFIX });
  });
  afterAll(async () => {
    await producer?.close();
    await Promise.all(children.map((c) => c.kill('SIGKILL')));
    await sandbox?.close();
    await cluster?.stop();
  });

  it('start-up checks read every master of the cluster', async () => {
    const conn = createRedis({ url: '', clusterNodes: cluster.nodes }, 'worker');
    try {
      await waitReady(conn, 10_000);
      const lines: string[] = [];
      const logger = createLogger({ destination: new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }) });
      const report = await checkRedis(conn, logger);
      expect(report.nodes.map((n) => n.node).sort()).toEqual(cluster.ports.map((p) => `127.0.0.1:${p}`).sort());
      expect(report.nodes.every((n) => n.maxmemoryPolicy === 'noeviction' && n.version)).toBe(true);
      expect(report.warnings).toEqual([]);
    } finally {
      conn.disconnect();
    }
  });

  it('producer and ingest → fan-out → Metabot and JoinChat workers → sandbox → order record, all on the cluster', async () => {
    const viaProducer = testOrders('cluster', 40, ['metabotLeadId', 'messenger']);
    const viaHttp = testOrders('cluster-http', 10, ['metabotLeadId', 'messenger'], 100);
    const results = await producer.orderPaidBulk(viaProducer);
    expect(results.every((r) => !r.duplicate)).toBe(true);
    expect((await producer.orderPaid(viaProducer[0])).duplicate).toBe(true); // idempotency keys work on the cluster too
    for (const order of viaHttp) {
      const res = await fetch(`${api.url}/v1/events/order-paid`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` }, body: JSON.stringify(order),
      });
      expect(res.status, await res.text()).toBe(202);
    }
    const all = [...viaProducer, ...viaHttp];

    await waitFor(async () => {
      const records = await Promise.all(all.map((o) => producer.getOrder(o.orderId)));
      return records.every((r) => r?.deliveries.length === 2 && r.deliveries.every((d) => d.status === 'sent'));
    }, 'every delivery recorded as sent (read back through the cluster producer)', 60_000, 250);
    const leads = new Set(acceptedRecipients(sandbox, 'metabot'));
    const psids = new Set(acceptedRecipients(sandbox, 'joinchat'));
    expect(all.filter((o) => !leads.has(String(o.customer.channels.metabotLeadId)) || !psids.has(o.customer.channels.messenger!.psid!))).toEqual([]);
    expect(countPerRecipient(acceptedRecipients(sandbox, 'metabot')).duplicates).toBe(0);
    expect(children.filter((c) => c.exited())).toEqual([]);
    // CROSSSLOT and friends surface as worker errors in the processes' logs even when jobs still get through.
    const errors = children.flatMap((c) => c.output().split('\n').filter((l) => /CROSSSLOT|MOVED|\bASK\b|"level":"(error|fatal)"/.test(l)).map((l) => `${c.entry}: ${l}`));
    expect(errors).toEqual([]);
  });

  it('every component on the cluster: MantaGO and Twin24 batching, the correlator, the results webhook', async () => {
    const prefix = '{order-notify-all}';
    const hooks: Array<{ orderId: string; status: string }> = [];
    const webhook: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { hooks.push(JSON.parse(body)); res.writeHead(200).end(); });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const logs: string[] = [];
    const proc = await startProcess([...WORKER_COMPONENTS], {
      env: workerEnv({ clusterNodes: cluster.nodes }, prefix, sandbox, {
        ROUTES_FILE: 'config/routes.example.yaml', METRICS_PORT: '0', LOG_LEVEL: 'warn', TWIN24_POLL_EVERY: '1s',
        RESULTS_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`, RESULTS_WEBHOOK_SECRET: 'cluster-webhook-secret-0123',
      }),
      host: '127.0.0.1',
      logDestination: new Writable({ write(c, _e, cb) { logs.push(String(c)); cb(); } }),
    });
    const clusterProducer = createProducer({ clusterNodes: cluster.nodes, prefix });
    try {
      const orders = testOrders('cluster-all', 12, ['lineUserId', 'messenger', 'metabotLeadId', 'whatsappPhone'], 500);
      await clusterProducer.orderPaidBulk(orders);
      // The sandbox decides each WhatsApp outcome; the correlator must bring every Twin24 message to a final status.
      const twin24Final = new Set(['correlated', 'undelivered', 'error', 'expired']);
      await waitFor(async () => {
        const records = await Promise.all(orders.map((o) => clusterProducer.getOrder(o.orderId)));
        return records.every((r) => {
          const live = r?.deliveries.filter((d) => d.status !== 'skipped') ?? [];
          // The example routes chain whatsapp-confirmation → line-confirmation: a fired link is a fifth delivery.
          const primaries = live.filter((d) => !d.chain || d.chain.link === 0);
          const fallbacks = live.filter((d) => d.chain && d.chain.link > 0);
          const whatsapp = primaries.find((d) => d.vendor === 'twin24');
          const wantFallback = whatsapp !== undefined && ['undelivered', 'error', 'expired'].includes(whatsapp.status);
          return primaries.length === 4 && primaries.every((d) => (d.vendor === 'twin24' ? twin24Final.has(d.status) : d.status === 'sent'))
            && (wantFallback ? fallbacks.length === 1 && fallbacks[0]!.status === 'sent' : fallbacks.length === 0);
        });
      }, 'all four vendors sent, each Twin24 message correlated to a final status, and each undelivered one followed by its LINE fallback, on the cluster', 60_000, 250);
      await waitFor(() => orders.every((o) => hooks.some((h) => h.orderId === o.orderId && twin24Final.has(h.status))),
        'the webhook to get each Twin24 final status', 30_000, 200);
      expect(logs.filter((l) => /CROSSSLOT|MOVED|\bASK\b|"level":"(error|fatal)"/.test(l))).toEqual([]);
    } finally {
      await clusterProducer.close();
      await proc.close();
      await new Promise((r) => webhook.close(r));
    }
  });
});
