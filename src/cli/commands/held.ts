import { Queue } from 'bullmq';
import { HeldDeliveries, type HeldDelivery } from '../../delivery/held.js';
import { DeliveryLedger } from '../../delivery/ledger.js';
import { createResultsHandback, recordsFor } from '../../orders/handback.js';
import { OrderRecords } from '../../orders/record.js';
import { RedisUnavailableError } from '../../producer/producer.js';
import { createRedis, waitReady, type RedisConnection } from '../../queues/connection.js';
import { distinctPrefixes } from '../../queues/keyspace.js';
import { deliveryQueueOf, JOB_NAMES, vendorGroup } from '../../queues/names.js';
import { deliveryJobOptions, queueAt } from '../../queues/options.js';
import { VENDORS } from '../../vendors/registry.js';
import { EXIT, type ExitCode } from '../../runtime/exit-codes.js';
import { createLogger } from '../../runtime/logger.js';
import type { AppConfig } from '../../config/env.js';
import { cliConfig, UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { formatTable } from '../table.js';

/** The held lists to look at: each vendor's lives beside its delivery queue (one list in the single layout). */
function heldStores(connection: RedisConnection, config: AppConfig, vendor?: string): HeldDeliveries[] {
  return distinctPrefixes(config.keys, (vendor ? [vendor] : VENDORS).map(vendorGroup)).map((prefix) => new HeldDeliveries(connection, prefix));
}

async function withRedis<T>(io: CliIO, work: (connection: RedisConnection, config: AppConfig) => Promise<T>): Promise<T> {
  const { config } = cliConfig(io);
  const connection = createRedis(config.redis, 'producer');
  connection.on('error', () => {});
  try {
    await waitReady(connection, 3_000).catch((e: unknown) => { throw new RedisUnavailableError(e); });
    return await work(connection, config);
  } finally {
    connection.disconnect();
  }
}

/** `held list`: deliveries whose earlier attempt has an unknown outcome, held by their route's onUnknownOutcome: hold. */
export async function heldListCommand(io: CliIO, opts: { vendor?: string; json?: boolean }): Promise<ExitCode> {
  return withRedis(io, async (connection, config) => {
    const held = (await Promise.all(heldStores(connection, config, opts.vendor).map((s) => s.list(opts.vendor))))
      .flat().sort((a, b) => a.heldAt.localeCompare(b.heldAt));
    if (opts.json) {
      io.stdout.write(`${JSON.stringify({ total: held.length, held: held.map(view) }, null, 2)}\n`);
      return EXIT.ok;
    }
    if (!held.length) {
      io.stdout.write('no held deliveries\n');
      return EXIT.ok;
    }
    io.stdout.write(`${formatTable(held.map(view), [
      { key: 'deliveryId', title: 'DELIVERY', max: 80 }, { key: 'vendor', title: 'VENDOR' }, { key: 'orderId', title: 'ORDER' },
      { key: 'ruleId', title: 'RULE' }, { key: 'requestAt', title: 'REQUEST LEFT AT' }, { key: 'requestId', title: 'REQUEST' },
      { key: 'heldAt', title: 'HELD AT' },
    ])}\n`);
    io.stdout.write(`${held.length} held deliver${held.length === 1 ? 'y' : 'ies'}; release each with: order-notify held release <delivery> --send | --drop\n`);
    return EXIT.ok;
  });
}

function view(h: HeldDelivery) {
  return { deliveryId: h.job.deliveryId, vendor: h.job.vendor, orderId: h.job.orderId, ruleId: h.job.ruleId, requestAt: h.attempt.at, requestId: h.attempt.requestId, heldAt: h.heldAt };
}

/**
 * `held release <deliveryId> --send | --drop`: the operator's decision on an unknown outcome. --send queues the
 * delivery again (it is sent even though the earlier request may have arrived); --drop records it `dropped`
 * (final). Either way the order record and the hand-back to the monolith hear it.
 */
export async function heldReleaseCommand(io: CliIO, deliveryId: string, opts: { send?: boolean; drop?: boolean; json?: boolean }): Promise<ExitCode> {
  if (Boolean(opts.send) === Boolean(opts.drop)) throw new UsageError('say what to do with it: --send (send it again) or --drop (record it dropped)');
  return withRedis(io, async (connection, config) => {
    let heldStore: HeldDeliveries | undefined;
    let held: HeldDelivery | undefined;
    for (const store of heldStores(connection, config)) {
      held = await store.get(deliveryId);
      if (held) { heldStore = store; break; }
    }
    if (!held || !heldStore) {
      io.stderr.write(`delivery ${deliveryId} is not held (see: order-notify held list)\n`);
      return EXIT.notFound;
    }
    const logger = createLogger({ level: 'silent' });
    const records = recordsFor(config, connection);
    const handback = createResultsHandback({ config, connection, logger, records });
    records.onChange(handback.listener);
    const { job } = held;
    const by = { vendor: job.vendor, ruleId: job.ruleId };
    try {
      if (opts.send) {
        const name = deliveryQueueOf(job.vendor, job.deliveryId, config.partitions[job.vendor]);
        const queue = new Queue(name, { connection, ...queueAt(config.keys, name), defaultJobOptions: deliveryJobOptions(config) });
        try {
          await queue.add(JOB_NAMES.delivery, { ...job, releasedAttempt: held.attempt.requestId }, { jobId: `${job.deliveryId}.release.${held.attempt.requestId.slice(0, 8)}` });
        } finally {
          await queue.close();
        }
        await records.update(job.orderId, job.deliveryId, { ...by, status: 'retrying', reason: `released by an operator: sending again (request ${held.attempt.requestId} may have arrived)` });
      } else {
        await records.update(job.orderId, job.deliveryId, {
          ...by, status: 'dropped', finalAt: new Date().toISOString(), reason: `dropped by an operator after an unknown outcome (request ${held.attempt.requestId})`,
        });
        await new DeliveryLedger(connection, config.keys.beside(records.groupOf(job.vendor, job.deliveryId)), config.idempotencyWindowMs).clearAttempts([job.deliveryId]);
      }
      await heldStore.remove(deliveryId);
    } finally {
      await handback.close();
    }
    const action = opts.send ? 'queued to send again' : 'dropped';
    io.stdout.write(opts.json ? `${JSON.stringify({ deliveryId, action })}\n` : `${deliveryId}: ${action}\n`);
    return EXIT.ok;
  });
}
