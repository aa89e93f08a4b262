import { Queue } from 'bullmq';
import type { AppConfig } from '../../config/env.js';
import { RedisUnavailableError } from '../../producer/producer.js';
import { createRedis, waitReady } from '../../queues/connection.js';
import { deliveryQueueNames } from '../../queues/names.js';
import { queueAt } from '../../queues/options.js';
import type { Redactor } from '../../runtime/redact.js';
import { isVendorName, VENDORS, type VendorName } from '../../vendors/registry.js';
import { cliConfig, UsageError } from '../errors.js';
import type { CliIO } from '../io.js';

/** One delivery queue; a partitioned vendor has one entry per partition. */
export interface DeliveryQueue { vendor: VendorName; queue: Queue }

/** Opens the delivery queues (every partition) of one vendor (or all), failing fast when Redis is away, and closes them after. */
export async function withDeliveryQueues<T>(
  io: CliIO, vendor: string | undefined,
  work: (queues: DeliveryQueue[], ctx: { config: AppConfig; redactor: Redactor }) => Promise<T>,
): Promise<T> {
  if (vendor !== undefined && !isVendorName(vendor)) throw new UsageError(`unknown vendor "${vendor}" (one of ${VENDORS.join(', ')})`);
  const ctx = cliConfig(io);
  const connection = createRedis(ctx.config.redis, 'producer');
  connection.on('error', () => {});
  try {
    await waitReady(connection, 3_000).catch((e: unknown) => { throw new RedisUnavailableError(e); });
    const { keys, partitions } = ctx.config;
    const queues = (vendor ? [vendor] : VENDORS).flatMap((v) => deliveryQueueNames(v, partitions[v]).map((name) => ({
      vendor: v, queue: new Queue(name, { connection, ...queueAt(keys, name) }),
    })));
    try {
      return await work(queues, ctx);
    } finally {
      await Promise.all(queues.map((q) => q.queue.close()));
    }
  } finally {
    connection.disconnect();
  }
}
