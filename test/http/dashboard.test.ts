import { mkdirSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { allQueueNames } from '../../src/queues/names.js';
import { VENDORS } from '../../src/vendors/registry.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { launchChromium } from './browser.js';
import { basicAuth, DASHBOARD_PASSWORD, DASHBOARD_USER, INGEST_TOKEN, postEvent, startApi, type RunningApi } from './harness.js';

const SCREENSHOT = 'test-artifacts/bull-board.png';
const MANTAGO_TOKEN = 'mantago-token-s3cr3t-value';
const PHONE = '+66 81 234 5678';

describe('Bull Board dashboard', () => {
  let redis: TestRedis;
  let run: RunningApi;
  let browser: Browser | undefined;
  let skipReason: string | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    run = await startApi(redis.url, {
      MANTAGO_BOT_ID: 'bot-1', MANTAGO_TOKEN, MANTAGO_SECRET: 'mantago-secret-s3cr3t-value',
    });
    // Job data carrying a configured secret (by key and by value) and contact data, as a careless client might send.
    const res = await postEvent(run.url, {
      ...SAMPLE_ORDER_PAID, orderId: 'DASH-1',
      apiKey: 'k-123456789', note: `vendor token is ${MANTAGO_TOKEN}, mail somchai@example.com`,
      customer: { ...SAMPLE_ORDER_PAID.customer, channels: { whatsappPhone: PHONE, messenger: { email: 'somchai@example.com' } } },
    });
    expect(res.status).toBe(202);
    ({ browser, reason: skipReason } = await launchChromium());
    if (skipReason) console.warn(`SKIPPING browser checks: ${skipReason}`);
  });
  afterAll(async () => {
    await browser?.close();
    await run?.close();
    await redis?.stop();
  });

  it('requires basic auth (401 without or with wrong credentials)', async () => {
    expect((await fetch(`${run.url}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${run.url}/admin/queues/api/queues`)).status).toBe(401);
    const wrong = await fetch(`${run.url}/admin/queues`, { headers: { authorization: basicAuth(DASHBOARD_USER, 'nope') } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('never shows a configured secret in job data, and masks phones and e-mails (Bull Board API)', async () => {
    const res = await fetch(`${run.url}/admin/queues/api/queues?activeQueue=orders&status=latest&page=1&jobsPerPage=10`, {
      headers: { authorization: basicAuth() },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    const body = JSON.parse(text) as { queues: Array<{ name: string; jobs: Array<{ data: Record<string, any> }> }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual([...allQueueNames(VENDORS)].sort());
    const job = body.queues.find((q) => q.name === 'orders')!.jobs[0]!;
    expect(job.data.orderId).toBe('DASH-1');
    for (const secret of [MANTAGO_TOKEN, 'mantago-secret-s3cr3t-value', INGEST_TOKEN, DASHBOARD_PASSWORD, 'k-123456789']) {
      expect(text).not.toContain(secret);
    }
    expect(job.data.apiKey).toBe('[REDACTED]');
    expect(job.data.customer.channels.whatsappPhone).toBe('668*****678');
    expect(job.data.customer.channels.messenger.email).toBe('s***@example.com');
    expect(text).not.toContain('somchai@example.com');
    expect(text).not.toContain('81 234');
  });

  it('refuses to save edited job data (the board shows it redacted)', async () => {
    const list = await (await fetch(`${run.url}/admin/queues/api/queues?activeQueue=orders&status=latest`, { headers: { authorization: basicAuth() } })).json() as
      { queues: Array<{ name: string; jobs: Array<{ id: string }> }> };
    const id = list.queues.find((q) => q.name === 'orders')!.jobs[0]!.id;
    const res = await fetch(`${run.url}/admin/queues/api/queues/orders/${encodeURIComponent(id)}/update-data`, {
      method: 'PATCH', headers: { authorization: basicAuth(), 'content-type': 'application/json' }, body: JSON.stringify({ jobData: { orderId: 'x' } }),
    });
    expect(res.status).toBe(403);
  });

  it('renders in headless Chromium and lists the project queues', async (ctx) => {
    if (!browser) ctx.skip(`browser unavailable: ${skipReason}`);
    // Without credentials Chromium gets the 401 challenge; headless it gives up with ERR_INVALID_AUTH_CREDENTIALS.
    const anonymous = await browser!.newContext();
    const denied = await (await anonymous.newPage()).goto(`${run.url}/admin/queues`).catch((e: Error) => e);
    if (denied instanceof Error) expect(denied.message).toContain('ERR_INVALID_AUTH_CREDENTIALS');
    else expect(denied?.status()).toBe(401);
    await anonymous.close();

    const context = await browser!.newContext({ httpCredentials: { username: DASHBOARD_USER, password: DASHBOARD_PASSWORD }, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const response = await page.goto(`${run.url}/admin/queues`);
    expect(response?.status()).toBe(200);
    for (const name of allQueueNames(VENDORS)) {
      await page.getByText(name, { exact: true }).first().waitFor({ state: 'visible', timeout: 15_000 });
    }
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // The job as an operator opens it: masked phone, redacted key, no secret anywhere on the page.
    await page.goto(`${run.url}/admin/queues/queue/orders?status=waiting`);
    await page.getByText('DASH-1').first().waitFor({ state: 'visible', timeout: 15_000 });
    const channels = page.getByRole('treeitem').filter({ has: page.getByText('channels:', { exact: true }) }).last();
    await channels.getByRole('button').first().click();
    const masked = page.getByText('668*****678').first();
    await masked.waitFor({ state: 'visible', timeout: 15_000 });
    await masked.scrollIntoViewIfNeeded();
    await page.screenshot({ path: SCREENSHOT.replace('.png', '-job.png'), fullPage: true });
    const html = await page.content();
    expect(html).not.toContain(MANTAGO_TOKEN);
    expect(html).not.toContain('81 234 5678');
    await context.close();
  });
});
