import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../support/ports.js';
import { get, post, sleep } from './http.js';

let sandbox: Sandbox;
const schedule = () =>
  post(`${sandbox.urls.metabot}/bots/4242/jobs/schedule`, { script_id: 1 }, { authorization: 'Bearer sandbox-metabot-token' });
const mantagoToken = () =>
  post(`${sandbox.urls.mantago}/openapi/token?botId=sandbox-bot`, { secret: 'nope' }, { authorization: 'Bearer nope' });

beforeAll(async () => {
  sandbox = await startSandbox({ port: await freePort() });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('faults', () => {
  it('answers about errorRate of the requests 503 and records them as injected', async () => {
    sandbox.setFaults('metabot', { errorRate: 0.3 });
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await schedule()).status);
    const failed = statuses.filter((s) => s === 503).length;
    // Binomial(200, 0.3): mean 60, sd ~6.5; 30..90 is more than 4.5 sd either side.
    expect(failed).toBeGreaterThanOrEqual(30);
    expect(failed).toBeLessThanOrEqual(90);
    expect(statuses.filter((s) => s === 200)).toHaveLength(200 - failed);
    const injected = sandbox.requests('metabot').filter((r) => r.status === 503);
    expect(injected).toHaveLength(failed);
    expect(injected[0]).toMatchObject({ accepted: false, reason: 'injected 503', response: { error: 'injected' } });
    expect(sandbox.accepted('metabot')).toHaveLength(200 - failed);
  });

  it('answers 429 with Retry-After above the rate limit, and lets requests through once the window passes', async () => {
    sandbox.setFaults('metabot', { rateLimit: { max: 5, durationMs: 1_000 } });
    const burst = await Promise.all(Array.from({ length: 8 }, () => schedule()));
    expect(burst.filter((r) => r.status === 200)).toHaveLength(5);
    const limited = burst.filter((r) => r.status === 429);
    expect(limited).toHaveLength(3);
    expect(limited[0]!.headers.get('retry-after')).toBe('1');
    expect(sandbox.requests('metabot').filter((r) => r.status === 429)[0]!.reason).toMatch(/^injected 429: more than 5 requests in 1000 ms/);
    await sleep(1_050);
    expect((await schedule()).status).toBe(200);

    sandbox.setFaults('metabot', { rateLimit: { max: 1, durationMs: 60_000, retryAfterSec: 7 } });
    expect((await schedule()).status).toBe(200);
    const second = await schedule();
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBe('7');
  });

  it('adds latency before answering', async () => {
    sandbox.setFaults('metabot', { latencyMs: 500 });
    const started = Date.now();
    expect((await schedule()).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(490);
    sandbox.setFaults('metabot', {});
    const again = Date.now();
    await schedule();
    expect(Date.now() - again).toBeLessThan(400);
  });

  it('refuses connections (the client sees a connection error), records it, and recovers when cleared', async () => {
    sandbox.setFaults('metabot', { refuseConnections: true, errorRate: 1 });
    await expect(schedule()).rejects.toThrow();
    expect(sandbox.requests('metabot').at(-1)).toMatchObject({ status: 0, accepted: false, reason: 'injected connection refusal' });
    // Other vendors and the control API are untouched.
    expect((await mantagoToken()).status).toBe(403);
    expect((await get(`${sandbox.url}/_sandbox/requests?vendor=metabot`)).body).toHaveLength(1);
    sandbox.setFaults('metabot', {});
    expect((await schedule()).status).toBe(200);
  });

  it('applies to every endpoint of the vendor, Twin24 IAM and analyse included', async () => {
    sandbox.setFaults('twin24', { errorRate: 1 });
    const login = await post(`${sandbox.urls.twin24Iam}/auth/login`, { email: 'sandbox@example.com', password: 'sandbox-password', ttl: 60 });
    expect(login.status).toBe(503);
    const stats = await get(`${sandbox.urls.twin24Analyse}/statistics/chat/sessions`, { authorization: 'Bearer sandbox-twin24-token' });
    expect(stats.status).toBe(503);
    expect(sandbox.requests('twin24').map((r) => r.reason)).toEqual(['injected 503', 'injected 503']);
  });

  it('refuses invalid faults', () => {
    expect(() => sandbox.setFaults('metabot', { errorRate: 2 })).toThrow();
    expect(() => sandbox.setFaults('metabot', { rateLimit: { max: 0, durationMs: 100 } })).toThrow();
  });
});

describe('maxInWindow', () => {
  it('finds the busiest sliding window, per vendor and optionally per path', async () => {
    await Promise.all(Array.from({ length: 5 }, () => schedule()));
    await sleep(600);
    await schedule();
    await schedule();
    await mantagoToken();
    expect(sandbox.maxInWindow('metabot', 250)).toBe(5);
    expect(sandbox.maxInWindow('metabot', 60_000)).toBe(7);
    expect(sandbox.maxInWindow('metabot', 60_000, '/bots/4242/jobs/schedule')).toBe(7);
    expect(sandbox.maxInWindow('metabot', 60_000, '/metabot/api/v1/bots/4242/jobs/schedule')).toBe(7);
    expect(sandbox.maxInWindow('metabot', 60_000, '/openapi/token')).toBe(0);
    expect(sandbox.maxInWindow('mantago', 60_000, '/openapi/token')).toBe(1);
    expect(sandbox.maxInWindow('joinchat', 1_000)).toBe(0);
  });
});
