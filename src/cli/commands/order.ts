import { createProducer } from '../../producer/producer.js';
import { EXIT, type ExitCode } from '../../runtime/exit-codes.js';
import { cliConfig } from '../errors.js';
import type { CliIO } from '../io.js';
import { formatTable } from '../table.js';
import { describeChain } from '../../orders/chain-view.js';

/** `order <orderId>`: the per-order record as a table (or JSON); exit 3 when the order is unknown. */
export async function orderCommand(io: CliIO, orderId: string, opts: { json?: boolean }): Promise<ExitCode> {
  const { config, redactor } = cliConfig(io);
  const producer = createProducer({ redisUrl: config.redis.url, clusterNodes: config.redis.clusterNodes, prefix: config.queuePrefix, keyLayout: config.keyLayout });
  try {
    const raw = await producer.getOrder(orderId);
    // The same Redactor as GET /v1/orders/{id}: secrets removed, phones and e-mails masked.
    const order = raw && (redactor.value(raw) as typeof raw);
    if (!order) {
      io.stderr.write(`order ${orderId} not found (never received, or older than ORDER_RETENTION)\n`);
      return EXIT.notFound;
    }
    if (opts.json) {
      io.stdout.write(`${JSON.stringify(order, null, 2)}\n`);
      return EXIT.ok;
    }
    io.stdout.write(`order ${order.orderId}${order.receivedAt ? `, received ${order.receivedAt}` : ''}: ${order.deliveries.length} deliveries\n`);
    if (order.deliveries.length) {
      io.stdout.write(`${formatTable(order.deliveries as unknown as Array<Record<string, unknown>>, [
        { key: 'ruleId', title: 'RULE' }, { key: 'vendor', title: 'VENDOR' }, { key: 'status', title: 'STATUS' },
        { key: 'vendorStatus', title: 'VENDOR STATUS' }, { key: 'attempts', title: 'ATTEMPTS' },
        { key: 'vendorMessageId', title: 'VENDOR MESSAGE', max: 40 }, { key: 'chatId', title: 'CHAT', max: 40 },
        { key: 'updatedAt', title: 'UPDATED' }, { key: 'reason', title: 'REASON', max: 100 },
      ])}\n`);
    }
    for (const d of order.deliveries) {
      if (d.result !== undefined) io.stdout.write(`result of ${d.ruleId}: ${JSON.stringify(d.result)}\n`);
      if (d.status === 'scheduled' && d.scheduledFor) io.stdout.write(`${d.ruleId} is held by quiet hours until ${d.scheduledFor}\n`);
    }
    for (const chain of order.chains ?? []) io.stdout.write(`fallback ${describeChain(chain)}\n`);
    return EXIT.ok;
  } finally {
    await producer.close().catch(() => undefined);
  }
}
