/**
 * The places where a seed is silent or ambiguous, each a setting or a tolerant reader (docs/vendors/*.md): MantaGO
 * counts only `success: true`, Metabot's auth header name and lead rules, Twin24's any-401 refresh on analyse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type MetabotConfig } from '../../src/config/env.js';
import { RetryableVendorError, type VendorError } from '../../src/delivery/errors.js';
import type { VendorCallMetrics } from '../../src/delivery/types.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { planFanout } from '../../src/fanout/plan.js';
import { AnalyseClient } from '../../src/vendors/twin24/correlation/analyse-client.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { MantagoClient } from '../../src/vendors/mantago/client.js';
import { MetabotClient } from '../../src/vendors/metabot/client.js';
import { metabotPayloadSchema } from '../../src/vendors/metabot/payload.js';
import type { Route } from '../../src/fanout/routes.js';
import { startStub, type Stub } from './joinchat-metabot.stub.js';

const metrics: VendorCallMetrics = { observeCall: () => undefined, tokenRefreshed: () => undefined };
const http = createVendorHttp(1_000);
let stub: Stub;
beforeAll(async () => { stub = await startStub(); });
afterAll(async () => { await stub.close(); });

async function failure(p: Promise<unknown>): Promise<VendorError> {
  try {
    await p;
  } catch (e) {
    return e as VendorError;
  }
  throw new Error('expected the call to fail');
}

describe('MantaGO: a 2xx is a send only with success: true', () => {
  const client = () => new MantagoClient(http, `${stub.url}/api`, 'bot-1', metrics);
  const pair = { token: 'tok', secret: 'sec' };
  const req = { platform: 'line' as const, clientIds: ['U1'], intentId: 'rb2kYmMdW', name: 'n' };

  it('accepts the seed\'s answer', async () => {
    stub.answer({ status: 200, body: { success: true, message: 'Send customer broadcast successfully' } });
    await expect(client().broadcast(pair, req)).resolves.toBeUndefined();
  });

  it.each([
    ['a proxy\'s HTML page', { status: 200, body: '<html><body>Welcome to our portal</body></html>' }, /HTTP 200 without success: true: <html><body>Welcome to our portal/],
    ['an empty 204', { status: 204 }, /HTTP 204 without success: true: \(empty body\)/],
    ['a JSON body without success', { status: 200, body: { message: 'queued' } }, /HTTP 200 without success: true: \{"message":"queued"\}/],
  ])('%s is retryable, its first bytes in the reason, and never the secret', async (_name, answer, reason) => {
    stub.answer(answer);
    const err = await failure(client().broadcast(pair, req));
    expect(err).toBeInstanceOf(RetryableVendorError);
    expect(err.message).toMatch(reason);
    expect(err.message).not.toContain('sec');
  });

  it('cuts a long body to its first 200 characters', async () => {
    stub.answer({ status: 200, body: `<html>${'x'.repeat(1_000)}</html>` });
    const err = await failure(client().broadcast(pair, req));
    expect(err.message.length).toBeLessThan(300);
    expect(err.message).toMatch(/…$/);
  });
});

describe('Metabot: the auth header, the lead, is_periodic', () => {
  const config = (over: Partial<MetabotConfig> = {}): MetabotConfig => ({
    baseUrl: `${stub.url}/api/v1`, botId: '4242', token: 'mt-token', timezone: 'Europe/Moscow', rateLimit: { max: 10, durationMs: 1_000 }, ...over,
  });

  it('sends Bearer <token> in Authorization by default, or in the seed\'s Authentication header when configured', async () => {
    expect(loadConfig({ METABOT_BOT_ID: '1', METABOT_TOKEN: 't' }).vendors.metabot?.authHeader).toBe('Authorization');
    const seedWay = loadConfig({ METABOT_BOT_ID: '1', METABOT_TOKEN: 't', METABOT_AUTH_HEADER: 'Authentication' }).vendors.metabot!;
    stub.answer({ status: 200, body: { success: true } });
    await new MetabotClient(config(), http).schedule({ script_id: 1 });
    expect(stub.received.at(-1)!.headers.authorization).toBe('Bearer mt-token');
    stub.answer({ status: 200, body: { success: true } });
    await new MetabotClient(config({ authHeader: seedWay.authHeader }), http).schedule({ script_id: 1 });
    const sent = stub.received.at(-1)!.headers;
    expect(sent.authentication).toBe('Bearer mt-token');
    expect(sent.authorization).toBeUndefined();
    expect(() => loadConfig({ METABOT_BOT_ID: '1', METABOT_TOKEN: 't', METABOT_AUTH_HEADER: 'bad header' })).toThrow(/METABOT_AUTH_HEADER/);
  });

  it('is_periodic goes without repeat_interval_sec (the seed has no such field)', () => {
    expect(metabotPayloadSchema.parse({ script_id: 1, is_periodic: false })).toEqual({ script_id: 1, is_periodic: false });
    expect(metabotPayloadSchema.safeParse({ script_id: 1, is_periodic: true }).success).toBe(true);
  });

  const rule = (message: Record<string, unknown>): Route => ({ id: 'mb', vendor: 'metabot', channel: 'metabot', message } as Route);
  const noLead = { ...SAMPLE_ORDER_PAID, customer: { ...SAMPLE_ORDER_PAID.customer, channels: {} } };
  const withLead = { ...SAMPLE_ORDER_PAID, customer: { ...SAMPLE_ORDER_PAID.customer, channels: { metabotLeadId: 18273 } } };
  const enabled = new Set(['metabot']);
  const payloadOf = (plan: ReturnType<typeof planFanout>[number]) => (plan.kind === 'deliver' ? plan.job.payload : plan.kind);

  it('lead_id: the rule\'s template wins, else the event\'s; a lead-less job (broadcast) is allowed without one', () => {
    expect(payloadOf(planFanout(withLead, [rule({ script_code: 's' })], enabled)[0]!)).toEqual({ script_code: 's', lead_id: 18273 });
    expect(payloadOf(planFanout(withLead, [rule({ script_code: 's', lead_id: '{{orderLead}}' })], enabled)[0]!)).toBe('rejected');
    expect(payloadOf(planFanout({ ...noLead, orderLead: 555 } as typeof noLead, [rule({ script_code: 's', lead_id: '{{orderLead}}' })], enabled)[0]!))
      .toEqual({ script_code: 's', lead_id: 555 });
    expect(payloadOf(planFanout(noLead, [rule({ broadcast_code: 'b' })], enabled)[0]!)).toEqual({ broadcast_code: 'b' });
    // A script for a customer without a lead still needs one: skipped, as before.
    expect(planFanout(noLead, [rule({ script_code: 's' })], enabled)[0]).toMatchObject({ kind: 'skipped', reason: 'customer has no metabot channel' });
  });
});

describe('Twin24 analyse: any 401 refreshes the token once', () => {
  it('a 401 whose text is not "Token is expired." gets one refresh and the read goes on', async () => {
    const refreshed: string[] = [];
    const tokens = { token: async () => 'old', refresh: async (stale: string) => { refreshed.push(stale); return 'new'; } };
    const client = new AnalyseClient({ analyseUrl: `${stub.url}/api/v1`, http, tokens, metrics, pageSize: 10 });
    stub.answer({ status: 401, body: { error: 'Unauthorized', details: 'jwt malformed' } });
    stub.answer({ status: 200, body: { count: 1, items: [{ id: 'm1', providerMessageId: 's1', status: 'DELIVERED' }] } });
    const seen: unknown[] = [];
    await client.messages({ from: 0, to: 1_000 }, async (items) => { seen.push(...items); });
    expect(refreshed).toEqual(['old']);
    expect(seen).toEqual([{ id: 'm1', providerMessageId: 's1', status: 'DELIVERED' }]);
    expect(stub.received.at(-1)!.headers.authorization).toBe('Bearer new');
  });
});
