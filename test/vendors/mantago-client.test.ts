import { AxiosError, AxiosHeaders, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PermanentVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError,
} from '../../src/delivery/errors.js';
import type { VendorCallMetrics } from '../../src/delivery/types.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { MantagoClient, type BroadcastRequest } from '../../src/vendors/mantago/client.js';
import { classifyMantagoFailure, classifyRefusalBody, MantagoCredentialsRejected } from '../../src/vendors/mantago/errors.js';

class RecordingMetrics implements VendorCallMetrics {
  calls: Array<{ vendor: string; endpoint: string; status: number | 'error' }> = [];
  refreshes = 0;
  observeCall(vendor: string, endpoint: string, status: number | 'error') { this.calls.push({ vendor, endpoint, status }); }
  tokenRefreshed() { this.refreshes++; }
}

let sandbox: Sandbox;
let metrics: RecordingMetrics;
const http = createVendorHttp(3_000);
const creds = () => sandbox.credentials.mantago;
const pair = () => ({ token: creds().token, secret: creds().secret });
const client = (botId = creds().botId, base = sandbox.urls.mantago) => new MantagoClient(http, base, botId, metrics);
const line: BroadcastRequest = { platform: 'line', clientIds: ['U1', 'U2'], intentId: 'rb2kYmMdW', name: 'order-paid-line' };

/** The error a call threw (fails the test when it resolved). */
async function failure(p: Promise<unknown>): Promise<VendorError> {
  try {
    await p;
  } catch (e) {
    return e as VendorError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => { sandbox = await startSandbox(); });
afterAll(async () => { await sandbox.close(); });
beforeEach(() => { sandbox.reset(); metrics = new RecordingMetrics(); });

describe('MantagoClient on the wire', () => {
  it('sends the documented bytes: botId in query and body, Bearer token, secret in the body, field order', async () => {
    await client().broadcast(pair(), line);
    const [rec] = sandbox.accepted('mantago');
    expect(rec).toMatchObject({ method: 'POST', path: '/openapi/broadcast', query: { botId: 'sandbox-bot' }, status: 200 });
    expect(rec!.rawBody).toBe(
      '{"botId":"sandbox-bot","clientIds":["U1","U2"],"platform":"line","secret":"sandbox-mantago-secret","intentId":"rb2kYmMdW","name":"order-paid-line"}',
    );
    expect(rec!.headers.authorization).toBe('Bearer sandbox-mantago-token');
    expect(rec!.headers['content-type']).toBe('application/json');
    expect(metrics.calls).toEqual([{ vendor: 'mantago', endpoint: 'broadcast', status: 200 }]);
  });

  it('sends a Facebook text with its message tag and no intentId', async () => {
    await client().broadcast(pair(), { platform: 'facebook', clientIds: ['F1'], message: 'Paid "ok" ✓', fbTag: 'POST_PURCHASE_UPDATE', name: 'n' });
    expect(sandbox.accepted('mantago')[0]!.rawBody).toBe(
      '{"botId":"sandbox-bot","clientIds":["F1"],"platform":"facebook","secret":"sandbox-mantago-secret","message":"Paid \\"ok\\" ✓","fbTag":"POST_PURCHASE_UPDATE","name":"n"}',
    );
  });

  it('refreshes the token with the current pair and gets the rotated pair back', async () => {
    sandbox.expireToken('mantago');
    const before = pair();
    const fresh = await client().refreshToken(before);
    const [rec] = sandbox.requests('mantago');
    expect(rec).toMatchObject({ path: '/openapi/token', query: { botId: 'sandbox-bot' }, status: 200 });
    expect(rec!.rawBody).toBe(JSON.stringify({ secret: before.secret }));
    expect(rec!.headers.authorization).toBe(`Bearer ${before.token}`);
    expect(fresh).toEqual(pair());
    expect(fresh.token).not.toBe(before.token);
    expect(metrics.calls).toEqual([{ vendor: 'mantago', endpoint: 'token', status: 200 }]);
    // The old pair is retired: 120000, which asks for a re-read rather than another refresh.
    const stale = await failure(client().broadcast(before, line));
    expect(stale).toBeInstanceOf(MantagoCredentialsRejected);
    expect(stale).toMatchObject({ code: 120000, remedy: 'reload', status: 401 });
  });
});

describe('MantaGO failures → the shared taxonomy', () => {
  it('1004 (expired token) asks for a refresh', async () => {
    sandbox.expireToken('mantago');
    const e = await failure(client().broadcast(pair(), line));
    expect(e).toBeInstanceOf(MantagoCredentialsRejected);
    expect(e).toMatchObject({ kind: 'auth_expired', code: 1004, remedy: 'refresh', message: 'mantago 1004: Token is invalid or expired' });
  });

  it.each([
    ['a wrong token (1002)', () => client().broadcast({ ...pair(), token: 'nope-nope' }, line), 1002, /^mantago 1002: Permission denied/],
    ['a wrong secret (1002)', () => client().broadcast({ ...pair(), secret: 'nope-nope' }, line), 1002, /^mantago 1002: Permission denied: wrong secret$/],
    ['an unknown bot (5001)', () => client('other-bot').broadcast(pair(), line), 5001, /^mantago 5001: botId "other-bot" not found$/],
    ['an unknown client (37011)', () => client().broadcast(pair(), { ...line, clientIds: ['U1', 'unknown-7'] }), 37011, /^mantago 37011: client not found: unknown-7$/],
    ['missing fields (110000)', () => client().broadcast(pair(), { platform: 'facebook', clientIds: ['F1'], message: 'x', name: 'n' }), 110000, /^mantago 110000: .*fbTag/],
  ])('%s is permanent and carries the code and MantaGO\'s text', async (_name, call, code, message) => {
    const e = await failure(call());
    expect(e).toBeInstanceOf(PermanentVendorError);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain(creds().secret);
  });

  it('HTTP 429 is rate-limited with the Retry-After of the answer', async () => {
    sandbox.setFaults('mantago', { rateLimit: { max: 1, durationMs: 60_000, retryAfterSec: 7 } });
    await client().broadcast(pair(), line);
    const e = await failure(client().broadcast(pair(), line));
    expect(e).toBeInstanceOf(RateLimitedVendorError);
    expect((e as RateLimitedVendorError).retryAfterMs).toBe(7_000);
    expect(metrics.calls.at(-1)).toEqual({ vendor: 'mantago', endpoint: 'broadcast', status: 429 });
  });

  it('HTTP 5xx and a dropped connection are retryable', async () => {
    sandbox.setFaults('mantago', { errorRate: 1 });
    expect(await failure(client().broadcast(pair(), line))).toBeInstanceOf(RetryableVendorError);
    sandbox.setFaults('mantago', { refuseConnections: true });
    const dropped = await failure(client().broadcast(pair(), line));
    expect(dropped).toBeInstanceOf(RetryableVendorError);
    expect(dropped.message).toMatch(/^mantago: no answer/);
    expect(metrics.calls.at(-1)).toEqual({ vendor: 'mantago', endpoint: 'broadcast', status: 'error' });
  });

  it('a refused refresh is classified too (wrong secret → 1002, permanent)', async () => {
    const e = await failure(client().refreshToken({ ...pair(), secret: 'nope-nope' }));
    expect(e).toBeInstanceOf(PermanentVendorError);
    expect(e.code).toBe(1002);
  });
});

describe('classifier for codes the sandbox never sends', () => {
  const answered = (status: number, data: unknown, headers: Record<string, string> = {}) => {
    const config = { headers: new AxiosHeaders() } as InternalAxiosRequestConfig;
    const response = { status, statusText: '', data, headers, config } as AxiosResponse;
    return new AxiosError(`Request failed with status code ${status}`, 'ERR_BAD_RESPONSE', config, {}, response);
  };
  const body = (code: number | string, message?: string) => ({ success: false, errResponse: { code, message, botId: 'b' } });

  it.each([
    [403, 11001, PermanentVendorError, 'mantago 11001: no LINE'],
    [500, 36000, RetryableVendorError, 'mantago 36000: no LINE'],
    [404, '37011', PermanentVendorError, 'mantago 37011: no LINE'],
  ])('HTTP %i code %s', (status, code, kind, message) => {
    const e = classifyMantagoFailure(answered(status, body(code, 'no LINE')));
    expect(e).toBeInstanceOf(kind);
    expect(e.message).toBe(message);
  });

  it('uses the documented meaning when MantaGO gives no text', () => {
    expect(classifyMantagoFailure(answered(403, body(11001))).message).toBe('mantago 11001: the bot has no integration for this platform');
  });

  it('429 wins over a code, an unknown code falls back to the HTTP status', () => {
    expect(classifyMantagoFailure(answered(429, body(36000), { 'retry-after': '2' }))).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2_000 });
    expect(classifyMantagoFailure(answered(400, body(4242, 'odd')))).toMatchObject({ kind: 'permanent', message: 'mantago 400: odd (MantaGO code 4242)' });
    expect(classifyMantagoFailure(answered(502, '<html>bad gateway</html>'))).toMatchObject({ kind: 'retryable', message: 'mantago 502: HTTP 502' });
  });

  it('a 2xx saying success: false is decided by its code; without one it is safe to retry', () => {
    expect(classifyRefusalBody(200, body(5001, 'no bot'))).toMatchObject({ kind: 'permanent', code: 5001 });
    expect(classifyRefusalBody(200, body(1004))).toBeInstanceOf(MantagoCredentialsRejected);
    expect(classifyRefusalBody(200, { success: false })).toMatchObject({ kind: 'retryable' });
  });
});
