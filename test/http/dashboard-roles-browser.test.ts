import { mkdirSync } from 'node:fs';
import { Queue } from 'bullmq';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryQueueName } from '../../src/queues/names.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { launchChromium } from './browser.js';
import { DASHBOARD_PASSWORD, DASHBOARD_USER, failOneJob, OPERATOR_PASSWORD, OPERATOR_USER, startApi, type RunningApi } from './harness.js';

const QUEUE = deliveryQueueName('mantago');
const JOB = 'deliver-ui-1';

describe('dashboard roles in headless Chromium', () => {
  let redis: TestRedis;
  let run: RunningApi;
  let deliveries: Queue;
  let browser: Browser | undefined;
  let skipReason: string | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    run = await startApi(redis.url, { DASHBOARD_OPERATOR_USER: OPERATOR_USER, DASHBOARD_OPERATOR_PASSWORD: OPERATOR_PASSWORD });
    deliveries = new Queue(QUEUE, { connection: { url: redis.url }, prefix: run.config.queuePrefix });
    await failOneJob(redis.url, run.config.queuePrefix, QUEUE, JOB);
    ({ browser, reason: skipReason } = await launchChromium());
    if (skipReason) console.warn(`SKIPPING browser checks: ${skipReason}`);
  });
  afterAll(async () => {
    await browser?.close();
    await deliveries?.close();
    await run?.close();
    await redis?.stop();
  });

  async function failedPage(username: string, password: string): Promise<Page> {
    const context = await browser!.newContext({ httpCredentials: { username, password }, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const res = await page.goto(`${run.url}/admin/queues/queue/${QUEUE}?status=failed`);
    expect(res?.status()).toBe(200);
    await page.getByText('vendor said no').first().waitFor({ state: 'visible', timeout: 15_000 });
    return page;
  }

  it('a read-only user sees the failed delivery but no retry, and a retry from the page is refused', async (ctx) => {
    if (!browser) ctx.skip(`browser unavailable: ${skipReason}`);
    const page = await failedPage(DASHBOARD_USER, DASHBOARD_PASSWORD);
    await expect(page.getByText(JOB).first().isVisible()).resolves.toBe(true);
    await expect(page.getByText(JOB).first().isVisible()).resolves.toBe(true);
    expect(await page.locator('[class*="jobActions"] button').count()).toBe(0); // no retry, clean, edit or duplicate
    expect(await page.getByText('Retry all').count()).toBe(0);
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/bull-board-viewer.png', fullPage: true });
    // Forced from the page (same origin, same credentials): the server refuses it whatever the UI shows.
    const status = await page.evaluate(async (url) => (await fetch(url, { method: 'PUT' })).status, `${run.url}/admin/queues/api/queues/${QUEUE}/${JOB}/retry`);
    expect(status).toBe(403);
    expect(await (await deliveries.getJob(JOB))!.getState()).toBe('failed');
    await page.context().close();
  });

  it('an operator retries the failed delivery with the Retry button', async (ctx) => {
    if (!browser) ctx.skip(`browser unavailable: ${skipReason}`);
    const page = await failedPage(OPERATOR_USER, OPERATOR_PASSWORD);
    // The job card's icon buttons carry their name in a tooltip: hover until the one saying "Retry" shows.
    const actions = page.locator('[class*="jobActions"] button');
    await actions.first().waitFor({ state: 'visible', timeout: 15_000 });
    let clicked = false;
    for (const button of await actions.all()) {
      await button.hover();
      const named = await page.getByText('Retry', { exact: true }).first().waitFor({ state: 'visible', timeout: 3_000 }).then(() => true, () => false);
      if (named) {
        await button.click();
        clicked = true;
        break;
      }
    }
    expect(clicked).toBe(true);
    await page.getByText('Are you sure that you want to retry this job?').waitFor({ state: 'visible', timeout: 10_000 });
    await page.screenshot({ path: 'test-artifacts/bull-board-operator-confirm.png', fullPage: true });
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await waitFor(async () => (await (await deliveries.getJob(JOB))!.getState()) === 'waiting', 'the job back in waiting', 15_000);
    await page.screenshot({ path: 'test-artifacts/bull-board-operator.png', fullPage: true });
    const audit = run.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'dashboard action');
    expect(audit).toEqual([expect.objectContaining({ user: OPERATOR_USER, action: 'retry-job', jobIds: [JOB] })]);
    await page.context().close();
  });
});
