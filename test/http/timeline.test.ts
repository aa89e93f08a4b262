import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { Metrics } from '../../src/observability/metrics.js';
import { OrderRecords } from '../../src/orders/record.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { startComponents, type RunningComponent } from '../../src/app/components.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { sandboxEnv } from '../support/config.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { basicAuth, DASHBOARD_PASSWORD, DASHBOARD_USER, INGEST_TOKEN, postEvent, startApi, type RunningApi } from './harness.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ORDER = 'A-10001';
const PHONE = '+66 81 234 5671';
const PAGE = `/admin/orders?order=${ORDER}`;

/**
 * The order timeline page against a real pipeline (fan-out, Twin24 and Metabot workers, the correlator, the
 * sandbox): one order whose Metabot delivery meets a 503 and a 429 before it goes out, and whose WhatsApp message
 * is correlated with its chat session and bot result. Checked as HTML and in headless Chromium, phone-width too.
 */
describe('order timeline page', () => {
  let redis: TestRedis;
  let sandbox: Sandbox;
  let run: RunningApi;
  let connection: RedisConnection;
  let components: RunningComponent[] = [];
  let browser: Browser | undefined;
  let skipReason: string | undefined;

  beforeAll(async () => {
    [redis, sandbox] = await Promise.all([startRedis(), startSandbox()]);
    run = await startApi(redis.url, {
      ...sandboxEnv(sandbox, ['twin24', 'metabot']), ROUTES_FILE: resolve('test/tracing/fixtures/routes.yaml'),
      TWIN24_POLL_EVERY: '300ms', RATE_LIMIT_DEFAULT_PAUSE: '1s',
    });
    connection = createRedis(run.config.redis, 'worker');
    components = await startComponents(['fanout', 'twin24', 'metabot', 'twin24-correlator'], {
      config: run.config, connection, metrics: new Metrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }),
    });
    const records = new OrderRecords(connection, run.config.queuePrefix, run.config.orderRetentionMs);
    const metabot = async () => (await records.get(ORDER))?.deliveries.find((d) => d.vendor === 'metabot');

    // Metabot answers 503 first (a retry with its reason), then 429 (a pause), then accepts.
    // The rate limit admits one request (answered 503 by errorRate) and refuses the next with a 429.
    sandbox.setFaults('metabot', { errorRate: 1, rateLimit: { max: 1, durationMs: 60_000, retryAfterSec: 1 } });
    const res = await postEvent(run.url, { ...SAMPLE_ORDER_PAID, orderId: ORDER, customer: { ...SAMPLE_ORDER_PAID.customer, channels: { whatsappPhone: PHONE, metabotLeadId: 4242 } } });
    expect(res.status).toBe(202);
    await waitFor(() => sandbox.requests('metabot').some((r) => r.status === 429), 'a 429 from Metabot');
    sandbox.setFaults('metabot', {});
    await waitFor(async () => (await metabot())?.status === 'sent', 'the Metabot delivery to be sent', 20_000);
    await waitFor(async () => (await records.get(ORDER))?.deliveries.find((d) => d.vendor === 'twin24')?.status === 'correlated', 'the WhatsApp message to be correlated', 20_000);

    if (!existsSync(CHROMIUM)) skipReason = `${CHROMIUM} is missing (apt-get install -y chromium)`;
    else browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }).catch((e: Error) => { skipReason = e.message.split('\n')[0]; return undefined; });
    if (skipReason) console.warn(`SKIPPING browser checks: ${skipReason}`);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all(components.map((c) => c.close(2_000)));
    connection?.disconnect();
    await run?.close();
    await sandbox?.close();
    await redis?.stop();
  });

  it('sits behind the dashboard login', async () => {
    expect((await fetch(`${run.url}${PAGE}`)).status).toBe(401);
    expect((await fetch(`${run.url}${PAGE}`, { headers: { authorization: basicAuth(DASHBOARD_USER, 'wrong') } })).status).toBe(401);
  });

  it('shows every delivery with its status history, vendor ids, chat session and bot result, with personal data masked', async () => {
    const res = await fetch(`${run.url}${PAGE}`, { headers: { authorization: basicAuth() } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    const records = new OrderRecords(connection, run.config.queuePrefix, run.config.orderRetentionMs);
    const order = (await records.get(ORDER))!;
    const twin24 = order.deliveries.find((d) => d.vendor === 'twin24')!;
    const metabot = order.deliveries.find((d) => d.vendor === 'metabot')!;
    expect(html).toContain(twin24.vendorMessageId!);
    expect(html).toContain(twin24.chatId!);
    expect(html).toContain(metabot.vendorMessageId!);
    // Metabot's history: queued → retrying (with the 503 reason) → sent; Twin24's ends correlated with a bot result.
    const historyOf = (deliveryId: string) => {
      const card = html.slice(html.indexOf(`data-delivery="${deliveryId}"`));
      return [...card.slice(card.indexOf('<ol'), card.indexOf('</ol>')).matchAll(/<li><span class="badge [^"]+">([a-z_]+)</g)].map((m) => m[1]);
    };
    expect(historyOf(metabot.deliveryId)).toEqual(['queued', 'retrying', 'sent']);
    expect(historyOf(twin24.deliveryId)[0]).toBe('queued');
    expect(historyOf(twin24.deliveryId)).toContain('sent');
    expect(historyOf(twin24.deliveryId).at(-1)).toBe('correlated');
    expect(html).toMatch(/503/);
    expect(html).toContain('bot result');
    // The bot result carries the phone (sandbox): masked like the dashboard masks it, never in clear.
    expect(html).toContain('668*****671');
    for (const secret of ['66812345671', '81 234 5671', INGEST_TOKEN, DASHBOARD_PASSWORD, sandbox.credentials.metabot.token, sandbox.credentials.twin24.password]) {
      expect(html).not.toContain(secret);
    }
    // Health strip: Metabot's 429 pause and its sent job are counted; the correlator has nothing left to wait for.
    const card = (vendor: string) => html.slice(html.indexOf(`data-vendor="${vendor}"`), html.indexOf('</section>', html.indexOf(`data-vendor="${vendor}"`)));
    expect(card('metabot')).toMatch(/<dt>429 pauses<\/dt><dd>[1-9]\d* in the last hour/);
    expect(card('metabot')).toMatch(/<dt>sent<\/dt><dd>\d+\/min · 1 in 15 min/);
    expect(card('twin24')).toMatch(/<dt>sent<\/dt><dd>\d+\/min · 1 in 15 min/);
    expect(card('twin24-correlator')).toContain('none waiting');
  });

  it('escapes what it echoes and answers 404 for an unknown order', async () => {
    const res = await fetch(`${run.url}/admin/orders?order=${encodeURIComponent('<script>alert(1)</script>')}`, { headers: { authorization: basicAuth() } });
    expect(res.status).toBe(404);
    const html = await res.text();
    expect(html).not.toContain('<script>');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62; is unknown');
  });

  it('renders in headless Chromium, readable at phone width (no horizontal overflow at 390 px)', async (ctx) => {
    if (!browser) ctx.skip(`browser unavailable: ${skipReason}`);
    mkdirSync('test-artifacts', { recursive: true });
    const credentials = { username: DASHBOARD_USER, password: DASHBOARD_PASSWORD };
    for (const [name, viewport] of [['timeline-phone', { width: 390, height: 844 }], ['timeline', { width: 1280, height: 900 }]] as const) {
      const context = await browser!.newContext({ httpCredentials: credentials, viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      const response = await page.goto(`${run.url}/admin/orders`);
      expect(response?.status()).toBe(200);
      // Search as an operator does: type the id, submit the form.
      await page.getByLabel('order id').fill(ORDER);
      await page.getByRole('button', { name: 'Show' }).click();
      await page.getByRole('heading', { name: new RegExp(`Order ${ORDER}`) }).waitFor({ state: 'visible', timeout: 10_000 });
      expect(page.url()).toContain(`order=${ORDER}`);
      await expect(page.getByText('correlated', { exact: true }).first().isVisible()).resolves.toBe(true);
      const widths = await page.evaluate<{ scroll: number; client: number }>(
        '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })');
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      if (viewport.width === 390) expect(widths.client).toBe(390);
      await page.screenshot({ path: `test-artifacts/${name}.png`, fullPage: true });
      await context.close();
    }
    // Refreshes the screenshot the docs show, on request only (the committed one is reviewed by a person).
    if (process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
      mkdirSync('docs', { recursive: true });
      copyFileSync('test-artifacts/timeline.png', 'docs/timeline.png');
    }
  }, 60_000);
});
