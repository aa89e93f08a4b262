/**
 * Redis memory per order at steady state with the default settings: the example routes file (five rules over all
 * four vendors), every order with every channel, every delivery sent, nothing consumed from the results queue, the
 * Twin24 correlator not yet concluded (its pending entries stay up to TWIN24_CORRELATE_MAX_AGE). Used memory before
 * and after, and MEMORY USAGE per key family, divided by the order count and scaled to 100,000 orders.
 *
 *   npx tsx bench/tools/redis-size.ts [orders=2000]
 */
import pino from 'pino';
import { loadConfig } from '../../src/config/env.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createProducer } from '../../src/producer/producer.js';
import { createRedis } from '../../src/queues/connection.js';
import { deliveryQueueName } from '../../src/queues/names.js';
import { startComponents } from '../../src/app/components.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { sandboxEnv } from '../../src/sandbox/env.js';
import { VENDORS } from '../../src/vendors/registry.js';
import { startBenchRedis } from '../harness/redis.js';

const N = Number(process.argv[2] ?? 2_000);
const redis = await startBenchRedis();
const sandbox = await startSandbox();
// Defaults everywhere except the vendor rate limits (they set the pace, not the memory).
const config = loadConfig({
  REDIS_URL: redis.url, ROUTES_FILE: 'config/routes.example.yaml', LOG_LEVEL: 'silent', ...sandboxEnv(sandbox),
  MANTAGO_RATE_LIMIT: '100000/1s', JOINCHAT_RATE_LIMIT: '100000/1s', METABOT_RATE_LIMIT: '100000/1s', TWIN24_RATE_LIMIT: '100000/1s',
});
const connection = createRedis(config.redis, 'worker');
const before = await redis.usedMemory();
const components = await startComponents(['fanout', ...VENDORS], { config, connection, metrics: new Metrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }) });
const producer = createProducer({ redisUrl: redis.url, prefix: config.queuePrefix });
const orders = Array.from({ length: N }, (_, i) => ({
  ...SAMPLE_ORDER_PAID, orderId: `SIZE-${i}`,
  customer: { ...SAMPLE_ORDER_PAID.customer, channels: {
    lineUserId: `U${i}`, facebookUserId: `F${i}`, messenger: { psid: `P${i}` }, metabotLeadId: i + 1, whatsappPhone: `+66 81 ${String(1_000_000 + i).slice(-7)}`,
  } },
}));
for (let i = 0; i < N; i += 1_000) await producer.orderPaidBulk(orders.slice(i, i + 1_000));
const deliveries = await (async () => {
  for (;;) {
    let done = 0;
    let open = 0;
    for (const v of VENDORS) {
      const c = await redis.client.eval(`return {redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('LLEN', KEYS[3]), redis.call('ZCARD', KEYS[4])}`, 4,
        ...['wait', 'completed', 'active', 'delayed'].map((s) => `${config.queuePrefix}:${deliveryQueueName(v)}:${s}`)) as number[];
      open += c[0]! + c[2]! + c[3]!;
      done += c[1]!;
    }
    const ordersWaiting = await redis.client.llen(`${config.queuePrefix}:orders:wait`);
    if (open === 0 && ordersWaiting === 0 && done > 0) return done;
    await new Promise((r) => setTimeout(r, 500));
  }
})();
for (const c of components.reverse()) await c.close(5_000);
await producer.close();
const after = await redis.usedMemory();

// Key families, by MEMORY USAGE of every key.
const families = new Map<string, { keys: number; bytes: number }>();
let cursor = '0';
do {
  const [next, keys] = await redis.client.scan(cursor, 'COUNT', 1_000);
  cursor = next;
  for (const key of keys) {
    const bytes = Number(await redis.client.memory('USAGE', key)) || 0;
    const rest = key.slice(config.queuePrefix.length + 1);
    const [head = '', sub = ''] = rest.split(':');
    const queueKey = /^(deliver-[a-z0-9]+|orders|results|results-webhook|twin24-correlate)$/.test(head);
    const family = queueKey ? `${head}:${sub.includes('.') || /^\d+$/.test(sub) ? 'job hashes' : sub}` : rest.startsWith('twin24') ? rest.split(':').slice(0, 3).join(':') : head;
    const f = families.get(family) ?? { keys: 0, bytes: 0 };
    f.keys += 1;
    f.bytes += bytes;
    families.set(family, f);
  }
} while (cursor !== '0');
const per100k = (bytes: number) => `${((bytes / N) * 100_000 / 1024 / 1024).toFixed(1)} MiB`;
console.log(`orders ${N}, deliveries ${deliveries}; used_memory +${after - before} bytes = ${Math.round((after - before) / N)} bytes/order = ${per100k(after - before)} per 100,000 orders`);
for (const [family, f] of [...families.entries()].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 20)) {
  console.log(`  ${family.padEnd(36)} keys ${String(f.keys).padStart(7)}  ${String(Math.round(f.bytes / N)).padStart(6)} B/order  ${per100k(f.bytes)} per 100k`);
}
connection.disconnect();
await sandbox.close();
await redis.stop();
process.exit(0);
