import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAxiosError } from 'axios';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createVendorHttp } from '../../src/http-client/instance.js';

/**
 * The two hard limits of every outbound call, against the sandbox's fault modes: a total deadline (axios' own
 * timeout restarts with every byte, so a dripping answer used to hold a call for ever) and a response size cap.
 */
describe('outbound call limits (createVendorHttp)', () => {
  let sandbox: Sandbox;
  beforeAll(async () => { sandbox = await startSandbox(); });
  afterAll(async () => { await sandbox?.close(); });

  const schedule = () => `${sandbox.urls.metabot}/bots/${sandbox.credentials.metabot.botId}/jobs/schedule`;
  const body = JSON.stringify({ lead_id: 1, script_code: 'x', run_at: '2030-01-01 00:00:00' });

  it('a vendor dripping its answer one byte every 300 ms is cut at the total deadline, not held for the whole answer', async () => {
    sandbox.setFaults('metabot', { dripMs: 300 });
    const http = createVendorHttp({ deadlineMs: 1_000 });
    const started = Date.now();
    const err = await http.post(schedule(), body, { headers: { authorization: `Bearer ${sandbox.credentials.metabot.token}` }, validateStatus: () => true })
      .then(() => undefined, (e: unknown) => e);
    const took = Date.now() - started;
    expect(isAxiosError(err) && err.code).toBe('DEADLINE_EXCEEDED');
    // The answer is tens of bytes long: dripped out in full it would take well over 10 s.
    expect(took).toBeLessThan(5_000);
    expect(sandbox.requests('metabot').length).toBe(1);
    sandbox.setFaults('metabot', {});
  });

  it('a 150 MB error body is cut at the 1 MiB cap, and memory barely moves', async () => {
    sandbox.setFaults('metabot', { hugeBodyBytes: 150 * 1024 * 1024 });
    const http = createVendorHttp({ deadlineMs: 10_000 });
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
    const err = await http.post(schedule(), body, { validateStatus: () => true }).then(() => undefined, (e: unknown) => e);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(isAxiosError(err) && err.code).toBe('RESPONSE_TOO_LARGE');
    const grewMb = (peak - before) / 1024 / 1024;
    expect(grewMb).toBeLessThan(50);
    console.info(`[http-limits] 150 MB answer: cut at 1 MiB, RSS grew ${grewMb.toFixed(1)} MB`);
    sandbox.setFaults('metabot', {});
  });
});
