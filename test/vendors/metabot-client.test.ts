import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetabotConfig } from '../../src/config/env.js';
import {
  PermanentVendorError, RateLimitedVendorError, RetryableVendorError, type VendorError,
} from '../../src/delivery/errors.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { createMetabotAdapter } from '../../src/vendors/metabot/adapter.js';
import { MetabotClient, scheduleBody } from '../../src/vendors/metabot/client.js';
import { metabotPayloadSchema, type MetabotPayload } from '../../src/vendors/metabot/payload.js';
import { RunAtError, toPlatformRunAt } from '../../src/vendors/metabot/run-at.js';
import { startStub, type Stub } from './joinchat-metabot.stub.js';

describe('run_at → the platform\'s local "YYYY-MM-DD hh:mm:ss"', () => {
  it('Europe/Moscow (UTC+3 all year, no DST)', () => {
    expect(toPlatformRunAt('2026-07-01T12:00:00+07:00', 'Europe/Moscow')).toBe('2026-07-01 08:00:00');
    expect(toPlatformRunAt('2026-01-15T09:30:15Z', 'Europe/Moscow')).toBe('2026-01-15 12:30:15');
    expect(toPlatformRunAt('2026-03-29T01:30:00Z', 'Europe/Moscow')).toBe('2026-03-29 04:30:00');
    expect(toPlatformRunAt('2026-10-25T01:30:00-05:30', 'Europe/Moscow')).toBe('2026-10-25 10:00:00');
  });

  it('midnight is 00, never 24 (hourCycle h23), and the date rolls over', () => {
    expect(toPlatformRunAt('2026-12-31T21:00:00Z', 'Europe/Moscow')).toBe('2027-01-01 00:00:00');
    expect(toPlatformRunAt('2026-06-30T22:00:05Z', 'Europe/Berlin')).toBe('2026-07-01 00:00:05');
  });

  it('a zone with DST (Europe/Berlin): either side of the spring and autumn changes', () => {
    // Spring forward 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST.
    expect(toPlatformRunAt('2026-03-29T00:30:00Z', 'Europe/Berlin')).toBe('2026-03-29 01:30:00');
    expect(toPlatformRunAt('2026-03-29T01:30:00Z', 'Europe/Berlin')).toBe('2026-03-29 03:30:00');
    // Fall back 2026-10-25 01:00 UTC: 03:00 CEST becomes 02:00 CET (02:30 happens twice).
    expect(toPlatformRunAt('2026-10-25T00:30:00Z', 'Europe/Berlin')).toBe('2026-10-25 02:30:00');
    expect(toPlatformRunAt('2026-10-25T01:30:00Z', 'Europe/Berlin')).toBe('2026-10-25 02:30:00');
    expect(toPlatformRunAt('2026-10-25T02:30:00Z', 'Europe/Berlin')).toBe('2026-10-25 03:30:00');
    // And a southern-hemisphere zone, DST in January.
    expect(toPlatformRunAt('2026-01-10T00:00:00Z', 'America/Sao_Paulo')).toBe('2026-01-09 21:00:00');
    expect(toPlatformRunAt('2026-01-10T00:00:00Z', 'Australia/Sydney')).toBe('2026-01-10 11:00:00');
  });

  it('a value already in platform form passes through untouched; garbage is refused by name', () => {
    expect(toPlatformRunAt('2021-01-21 21:00:00', 'Europe/Berlin')).toBe('2021-01-21 21:00:00');
    expect(() => toPlatformRunAt('next tuesday +03:00', 'Europe/Moscow')).toThrow(RunAtError);
    expect(() => toPlatformRunAt('next tuesday +03:00', 'Europe/Moscow')).toThrow(/^run_at: /);
  });

  it('scheduleBody converts run_at in place and keeps everything else as given', () => {
    const p = metabotPayloadSchema.parse({ trigger_code: 't', lead_id: '7', run_at: '2026-07-01T12:00:00+07:00', add_tags: ['a', 'b'], remove_tags: 'c' });
    expect(scheduleBody(p, 'Europe/Moscow')).toBe('{"trigger_code":"t","lead_id":7,"run_at":"2026-07-01 08:00:00","add_tags":"a,b","remove_tags":"c"}');
    const q = metabotPayloadSchema.parse({ script_id: 3, run_after_sec: 0 });
    expect(scheduleBody(q, 'Europe/Moscow')).toBe('{"script_id":3,"run_after_sec":0}');
  });
});

let stub: Stub;
beforeAll(async () => { stub = await startStub(); });
afterAll(async () => { await stub.close(); });

const TOKEN = 'metabot-token-abcdef';
const config = (over: Partial<MetabotConfig> = {}): MetabotConfig => ({
  baseUrl: `${stub.url}/api/v1`, botId: '4242', token: TOKEN, timezone: 'Europe/Moscow', rateLimit: { max: 10, durationMs: 1_000 }, ...over,
});
const http = createVendorHttp(300);
const payload: MetabotPayload = { script_code: 'followup', lead_id: 135 };
const schedule = (p: MetabotPayload = payload) => new MetabotClient(config(), http).schedule(p);
async function failure(p: Promise<unknown>): Promise<VendorError> {
  try {
    await p;
  } catch (e) {
    return e as VendorError;
  }
  throw new Error('expected the call to fail');
}

describe('the request and its answers', () => {
  it('POSTs {base}/bots/{botId}/jobs/schedule with the bearer token; the job id becomes the vendor message id', async () => {
    stub.answer({ status: 200, body: { success: true, data: { job_id: 981 } } });
    await expect(schedule()).resolves.toEqual({ jobId: '981' });
    const req = stub.received.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v1/bots/4242/jobs/schedule');
    expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.raw).toBe('{"script_code":"followup","lead_id":135}');
  });

  it('any 2xx schedules; an answer without a job id leaves the id empty', async () => {
    stub.answer({ status: 201, body: { id: 'j-7' } });
    await expect(schedule()).resolves.toEqual({ jobId: 'j-7' });
    stub.answer({ status: 204 });
    await expect(schedule()).resolves.toEqual({ jobId: undefined });
  });

  it('401/403/404/422 → permanent with Metabot\'s message (and Laravel\'s field errors)', async () => {
    for (const [status, message] of [[401, 'Unauthenticated.'], [403, 'This action is unauthorized.'], [404, 'Bot not found']] as const) {
      stub.answer({ status, body: { message } });
      const err = await failure(schedule());
      expect(err).toBeInstanceOf(PermanentVendorError);
      expect(err.message).toBe(`metabot ${status}: ${message}`);
    }
    stub.answer({ status: 422, body: { message: 'The given data was invalid.', errors: { lead_id: ['The lead id must be an integer.'] } } });
    expect((await failure(schedule())).message).toBe('metabot 422: The given data was invalid. (lead_id: The lead id must be an integer.)');
  });

  it('a 2xx that says success:false → permanent with its message', async () => {
    stub.answer({ status: 200, body: { success: false, message: 'Script not found' } });
    const err = await failure(schedule());
    expect(err).toBeInstanceOf(PermanentVendorError);
    expect(err.message).toBe('metabot 200: Script not found');
  });

  it('429 → rate-limited with Retry-After; 5xx and timeouts → retryable without the token in the error', async () => {
    stub.answer({ status: 429, body: { message: 'Too Many Attempts.' }, headers: { 'retry-after': '3' } });
    const limited = await failure(schedule());
    expect(limited).toBeInstanceOf(RateLimitedVendorError);
    expect((limited as RateLimitedVendorError).retryAfterMs).toBe(3_000);
    stub.answer({ status: 502, body: '<html>Bad Gateway</html>' });
    const bad = await failure(schedule());
    expect(bad).toBeInstanceOf(RetryableVendorError);
    expect(bad.message).toBe('metabot 502: HTTP 502');
    stub.answer({ status: 200, hang: true });
    const timedOut = await failure(schedule());
    expect(timedOut).toBeInstanceOf(RetryableVendorError);
    expect(timedOut.message).toBe('metabot: no answer (DEADLINE_EXCEEDED)');
    expect(timedOut.cause).toBeUndefined();
    expect(JSON.stringify({ ...timedOut, stack: timedOut.stack })).not.toContain(TOKEN);
  });

  it('a run_at that cannot be converted fails permanently before any request', async () => {
    const before = stub.received.length;
    const err = await failure(schedule({ ...payload, run_at: 'not a time Z' }));
    expect(err).toBeInstanceOf(PermanentVendorError);
    expect(err.message).toMatch(/^metabot: run_at: "not a time Z" is neither/);
    expect(stub.received.length).toBe(before);
  });

  it('the adapter does not batch', () => {
    const adapter = createMetabotAdapter({ config: config(), http } as never);
    expect([adapter.maxBatch, adapter.lingerMs, adapter.batchKey]).toEqual([1, 0, undefined]);
  });
});
