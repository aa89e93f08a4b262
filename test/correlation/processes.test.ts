/**
 * Done-when of the seed-fidelity work: `order-notify start` in separate processes (fan-out + Twin24 sender, and the
 * correlator) against the sandbox played the seed's way, in both lookup modes. Every Twin24 message of the example
 * orders must end `correlated` with the bot's result, tied to the session its providerMessageId names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../src/producer/producer.js';
import { sandboxEnv } from '../../src/sandbox/env.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { startChildWorker, type ChildWorker } from '../support/child-worker.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';

/** The example orders as shipped, with ids made unique per run. */
function exampleOrders(run: string): Array<Record<string, unknown>> {
  return readdirSync('examples').filter((f) => f.endsWith('.json')).sort()
    .map((f) => JSON.parse(readFileSync(`examples/${f}`, 'utf8')) as Record<string, unknown>)
    .map((e) => ({ ...e, orderId: `${String(e.orderId)}-${run}` }));
}

const hasWhatsapp = (e: Record<string, unknown>) => Boolean((e.customer as { channels: { whatsappPhone?: string } }).channels.whatsappPhone);

let redis: TestRedis;
beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => { await redis?.stop(); });

async function runMode(mode: 'window' | 'per-session', twin24: SandboxOptions['twin24']): Promise<void> {
  const sandbox: Sandbox = await startSandbox({ twin24: { pendingAfterMs: 100, finalAfterMs: 400, resultAfterMs: 400, outcome: () => 'DELIVERED', ...twin24 } });
  const prefix = `e2e${mode.replace('-', '')}`;
  const env = {
    REDIS_URL: redis.url, QUEUE_PREFIX: prefix, ...sandboxEnv(sandbox, ['twin24']),
    TWIN24_SESSION_LOOKUP: mode, TWIN24_POLL_EVERY: '300ms', TWIN24_STATS_PAGE_SIZE: '500',
  };
  const children: ChildWorker[] = [];
  const producer = createProducer({ redisUrl: redis.url, prefix });
  try {
    children.push(await startChildWorker('src/cli.ts', env, { args: ['start', 'fanout', 'twin24'] }));
    children.push(await startChildWorker('src/cli.ts', env, { args: ['start', 'twin24-correlator'] }));
    const events = exampleOrders(mode);
    const whatsapp = events.filter(hasWhatsapp).map((e) => String(e.orderId));
    expect(whatsapp.length).toBeGreaterThanOrEqual(2);
    await producer.orderPaidBulk(events);

    const deliveries = await waitFor(async () => {
      const ds = await Promise.all(whatsapp.map(async (id) => (await producer.getOrder(id))?.deliveries.find((d) => d.vendor === 'twin24')));
      return ds.every((d) => d?.status === 'correlated') ? ds : undefined;
    }, `every WhatsApp message of the examples correlated (${mode})`, 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${children.map((c) => c.output()).join('\n')}`);
    });

    const views = new Map(sandbox.twin24Messages().map((m) => [m.id, m]));
    for (const d of deliveries) {
      const view = views.get(d!.vendorMessageId!)!;
      expect(d).toMatchObject({ status: 'correlated', chatId: view.providerMessageId, result: view.result });
      expect(d!.result).toMatchObject({ confirmation: expect.any(String) });
    }
    const sessions = sandbox.requests('twin24').filter((r) => r.path === '/statistics/chat/sessions' && r.status === 200);
    const sessionIds = new Set([...views.values()].map((v) => v.providerMessageId));
    if (mode === 'per-session') expect(sessions.every((r) => sessionIds.has(r.query.chatId!))).toBe(true);
    else expect(sessions.some((r) => r.query.chatId === undefined)).toBe(true);
    // Nothing else than what the seed shows was asked for.
    for (const r of sessions) expect(r.query.fields).toBe('id,name,clientId,messengerType');
  } finally {
    await producer.close();
    for (const c of children) await c.kill('SIGTERM');
    await sandbox.close();
  }
}

describe('order-notify start, separate processes, the seed\'s sandbox', () => {
  it('window mode: every WhatsApp message of the example orders reaches correlated with the bot\'s result', async () => {
    await runMode('window', { limitCap: 1 });
  });

  it('per-session mode: the same, with the seed\'s per-session call', async () => {
    await runMode('per-session', { requireSessionChatId: true });
  });
});
