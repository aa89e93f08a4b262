/**
 * The seed's step 3 in both lookup modes, against the sandbox played in each reading the seed leaves open: sessions
 * by `chatId` = providerMessageId, a server that refuses queries without chatId, a server that caps `limit`, bot
 * variables answered on the item, statuses beyond DELIVERED.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxOptions } from '../../src/sandbox/index.js';
import { waitFor, sleep } from '../support/wait.js';
import { lastSeq, RULE, startRig, tickUntilSettled, type Rig } from './rig.js';

const SEED_FIELDS = 'id,name,clientId,messengerType';
let rig: Rig | undefined;
afterEach(async () => { await rig?.close(); rig = undefined; });

async function settledRig(twin24: SandboxOptions['twin24'], env: Record<string, string>, orders = 12) {
  rig = await startRig({ twin24: { pendingAfterMs: 0, finalAfterMs: 100, resultAfterMs: 100, outcome: () => 'DELIVERED', ...twin24 } });
  const p = await rig.pipeline({ TWIN24_RATE_LIMIT: '100/1s', ...env });
  const ids = await p.sendOrders(orders);
  await waitFor(() => rig!.sandbox.twin24Messages().every((m) => m.result !== null), 'every bot result in the sandbox');
  return { p, ids, seq: lastSeq(rig.sandbox) };
}

/** Every order's Twin24 delivery is correlated with exactly the sandbox's result for its session. */
async function expectAllCorrelated(p: Awaited<ReturnType<typeof settledRig>>['p'], ids: string[]) {
  const bySession = new Map(rig!.sandbox.twin24Messages().map((m) => [m.providerMessageId, m]));
  for (const orderId of ids) {
    const d = (await p.producer.getOrder(orderId))?.deliveries.find((x) => x.ruleId === RULE);
    expect(d?.status, orderId).toBe('correlated');
    const view = bySession.get(d!.chatId!);
    expect(view?.id).toBe(d!.vendorMessageId);
    expect(d!.result).toEqual(view!.result);
  }
}

describe('session lookup', () => {
  it('per-session: the seed\'s call, chatId = the message\'s providerMessageId, once per message', async () => {
    const { p, ids, seq } = await settledRig({}, { TWIN24_SESSION_LOOKUP: 'per-session' });
    const summaries = await tickUntilSettled(p);
    await expectAllCorrelated(p, ids);
    const sessionCalls = rig!.analyseRequests(seq).filter((r) => r.path === '/statistics/chat/sessions');
    const sessionIds = new Set(rig!.sandbox.twin24Messages().map((m) => m.providerMessageId));
    expect(sessionCalls).toHaveLength(ids.length);
    for (const r of sessionCalls) {
      expect(sessionIds.has(r.query.chatId!)).toBe(true);
      expect(r.query).toMatchObject({ fields: SEED_FIELDS, withoutCount: 'false', withoutItems: 'false', page: '0' });
    }
    expect(summaries[0]).toMatchObject({ sessionWindows: 0, sessionLookups: ids.length, correlated: ids.length });
  });

  it('window: one query without chatId; against a server that refuses it, falls back to per-session and remembers', async () => {
    const { p, ids, seq } = await settledRig({ requireSessionChatId: true }, {}, 6);
    // Half now, half later: the second tick must not ask the refused query again.
    const first = await p.tick();
    expect(first).toMatchObject({ sessionWindows: 1, sessionLookups: 6, correlated: 6 });
    await expectAllCorrelated(p, ids);
    const calls = rig!.analyseRequests(seq).filter((r) => r.path === '/statistics/chat/sessions');
    expect(calls[0]).toMatchObject({ status: 400, query: expect.not.objectContaining({ chatId: expect.anything() }) });
    expect(calls.slice(1).every((r) => r.status === 200 && r.query.chatId)).toBe(true);

    const more = await p.sendOrders(3, 100);
    await waitFor(() => rig!.sandbox.twin24Messages().every((m) => m.result !== null), 'the new results');
    const seq2 = lastSeq(rig!.sandbox);
    expect(await p.tick()).toMatchObject({ sessionWindows: 0, sessionLookups: 3, correlated: 3 });
    expect(rig!.analyseRequests(seq2).filter((r) => r.path === '/statistics/chat/sessions' && !r.query.chatId)).toHaveLength(0);
    await expectAllCorrelated(p, more);
  });

  it('reads to the end when the server caps limit below ours (count, not a short page, ends the read)', async () => {
    const { p, ids, seq } = await settledRig({ limitCap: 4 }, { TWIN24_STATS_PAGE_SIZE: '500' }, 10);
    const summary = await p.tick();
    expect(summary).toMatchObject({ correlated: 10, sessionLookups: 0 });
    await expectAllCorrelated(p, ids);
    const requests = rig!.analyseRequests(seq);
    for (const path of ['/statistics/messaging/messages', '/statistics/chat/sessions']) {
      expect(requests.filter((r) => r.path === path).map((r) => r.query.page)).toEqual(['0', '1', '2']);
    }
  });

  it('READ and unknown statuses with a session start the lookup; named result keys decide', async () => {
    const outcome = (phone: string) => (phone.endsWith('1') ? 'SEEN_BY_USER' : 'DELIVERED');
    const { p, ids } = await settledRig(
      { readAfterMs: 0, botVariablesOnItem: true, outcome, result: (phone) => (phone.endsWith('2') ? { initialVariables: [] } : { confirmation: 'Отказ', initialVariables: [] }) },
      { TWIN24_RESULT_KEYS: 'confirmation,nps', TWIN24_CORRELATE_MAX_AGE: '5s' },
    );
    const seq = lastSeq(rig!.sandbox);
    const first = await p.tick();
    const unanswered = ids.filter((_, i) => String(i).endsWith('2'));
    expect(first.correlated).toBe(ids.length - unanswered.length);
    const sessions = rig!.analyseRequests(seq).filter((r) => r.path === '/statistics/chat/sessions');
    expect(sessions.every((r) => r.query.fields === `${SEED_FIELDS},confirmation,nps`)).toBe(true);
    for (const [i, orderId] of ids.entries()) {
      const d = (await p.producer.getOrder(orderId))!.deliveries[0]!;
      if (unanswered.includes(orderId)) {
        // Only initialVariables: no answer yet; still pending, never a "correlated" without a result.
        expect(d.status).toBe('sent');
        continue;
      }
      expect(d).toMatchObject({ status: 'correlated', vendorStatus: String(i).endsWith('1') ? 'SEEN_BY_USER' : 'READ', result: { confirmation: 'Отказ' } });
    }
    await sleep(5_100);
    expect((await p.tick()).timedOut).toBe(unanswered.length);
  });
});
