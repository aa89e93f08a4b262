import { readFile } from 'node:fs/promises';
import { createProducer } from '../../producer/producer.js';
import { EXIT, type ExitCode } from '../../runtime/exit-codes.js';
import { cliConfig, UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { formatTable } from '../table.js';

/** `enqueue <file.json|->`: one event or an array; all are validated before any is enqueued. */
export async function enqueueCommand(io: CliIO, source: string, opts: { json?: boolean }): Promise<ExitCode> {
  const label = source === '-' ? 'stdin' : source;
  const text = await readSource(io, source);
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${label}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (Array.isArray(input) && input.length === 0) throw new UsageError(`${label}: the array is empty, nothing to enqueue`);

  const { config } = cliConfig(io);
  const producer = createProducer({
    redisUrl: config.redis.url, clusterNodes: config.redis.clusterNodes, prefix: config.queuePrefix, keyLayout: config.keyLayout,
    idempotencyWindowMs: config.idempotencyWindowMs, keepCompletedMs: config.jobs.keepCompletedMs,
    keepFailedMs: config.jobs.keepFailedMs, orderRetentionMs: config.orderRetentionMs,
  });
  try {
    const events = (Array.isArray(input) ? input : [input]) as Array<{ orderId?: unknown }>;
    const results = Array.isArray(input) ? await producer.orderPaidBulk(input) : [await producer.orderPaid(input)];
    const rows = results.map((r, i) => ({ orderId: String(events[i]?.orderId), ...r }));
    if (opts.json) io.stdout.write(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    else {
      io.stdout.write(`${formatTable(rows, [
        { key: 'orderId', title: 'ORDER' }, { key: 'jobId', title: 'JOB ID', max: 80 }, { key: 'duplicate', title: 'DUPLICATE' },
      ])}\n`);
    }
    return EXIT.ok;
  } finally {
    await producer.close().catch(() => undefined);
  }
}

async function readSource(io: CliIO, source: string): Promise<string> {
  if (source !== '-') {
    try {
      return await readFile(source, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${source}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
