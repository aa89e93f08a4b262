import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { loadRoutesFile } from '../../src/fanout/routes.js';
import { secretValues } from '../../src/config/secrets.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { planRule } from '../../src/fanout/plan.js';
import { checkHttpSignature } from '../../src/vendors/http/sign.js';
import { startChildWorker } from '../support/child-worker.js';
import { waitFor } from '../support/wait.js';
import { capturingLogger, finalJobs, startRig, type Rig } from './joinchat-metabot.harness.js';

/** The fifth vendor: a shop's own gateway behind a signed POST (src/vendors/http/, docs/vendors/http.md). */

const SECRET = 'a-gateway-secret-of-32-bytes-ok!';
const base = { HTTP_VENDOR_URL: 'https://gw.example.com/notify', HTTP_VENDOR_SECRET: SECRET };
const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
};

describe('http vendor config (its slice of the environment)', () => {
  it('is disabled until both the URL and the secret are set, and names the missing one when only one is', () => {
    expect(loadConfig({}).disabledVendors).toContainEqual({ vendor: 'http', missing: ['HTTP_VENDOR_URL', 'HTTP_VENDOR_SECRET'] });
    expect(problems({ HTTP_VENDOR_URL: base.HTTP_VENDOR_URL })).toEqual(['HTTP_VENDOR_SECRET: required to enable http (other http credentials are set)']);
    const config = loadConfig({ ...base, HTTP_VENDOR_ALLOWED_URLS: 'https://gw.example.com/sms, https://mail.example.com/send' });
    expect(config.vendors.http).toEqual({
      url: 'https://gw.example.com/notify', secret: SECRET, signatureHeader: 'x-order-notify-signature',
      allowedUrls: ['https://gw.example.com/notify', 'https://gw.example.com/sms', 'https://mail.example.com/send'],
      retryStatuses: [408, 425, 500, 502, 503, 504], rateLimit: { max: 10, durationMs: 1_000 },
    });
    // The redactor learns the secret from the slice.
    expect(secretValues(config)).toContain(SECRET);
  });

  it('refuses a short secret, a public plain-http URL and bad statuses, each by variable name', () => {
    expect(problems({ ...base, HTTP_VENDOR_SECRET: 'short' })).toEqual([expect.stringMatching(/^HTTP_VENDOR_SECRET: is 5 bytes; at least 24/)]);
    expect(problems({ ...base, HTTP_VENDOR_ALLOWED_URLS: 'http://gw.example.com/plain' })).toEqual([expect.stringMatching(/^HTTP_VENDOR_ALLOWED_URLS: http:\/\/gw\.example\.com\/plain must be https/)]);
    expect(problems({ ...base, HTTP_VENDOR_URL: 'http://203.0.113.7/x' })).toEqual([expect.stringMatching(/^HTTP_VENDOR_URL: .* must be https/)]);
    expect(problems({ ...base, HTTP_VENDOR_RETRY_STATUSES: '200' })).toEqual([expect.stringMatching(/^HTTP_VENDOR_RETRY_STATUSES: must list only 4xx\/5xx/)]);
    // Inside the deployment plain http is fine: this machine, or a compose/Kubernetes service name.
    expect(problems({ ...base, HTTP_VENDOR_URL: 'http://sms-gateway:8080/send' })).toEqual([]);
    expect(problems({ ...base, HTTP_VENDOR_URL: 'http://127.0.0.1:9/send' })).toEqual([]);
  });
});

describe('http vendor in a routes file', () => {
  const routesFile = (rule: Record<string, unknown>) => {
    const file = join(mkdtempSync(join(tmpdir(), 'http-routes-')), 'routes.json');
    writeFileSync(file, JSON.stringify({ version: 1, rules: [{ id: 'sms', vendor: 'http', ...rule }] }));
    return file;
  };

  it('renders the body from the event; a rule naming a field the order lacks is rejected, not sent', () => {
    const [route] = loadRoutesFile(routesFile({ channel: 'http', message: { body: { to: '{{customer.channels.whatsappPhone}}', text: 'Paid {{total}} {{currency}}' } } }));
    const plan = planRule(route!, SAMPLE_ORDER_PAID, new Set(['http']));
    expect(plan).toMatchObject({ kind: 'deliver', job: { vendor: 'http', payload: { body: { to: SAMPLE_ORDER_PAID.customer.channels.whatsappPhone, text: 'Paid 1290 THB' } } } });
    const { whatsappPhone: _none, ...channels } = SAMPLE_ORDER_PAID.customer.channels;
    const noPhone = { ...SAMPLE_ORDER_PAID, customer: { ...SAMPLE_ORDER_PAID.customer, channels } };
    expect(planRule(route!, noPhone, new Set(['http']))).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('whatsappPhone') });
  });

  it('refuses a rule whose channel the vendor does not serve, or whose message is not {url?, body}', () => {
    expect(() => loadRoutesFile(routesFile({ channel: 'line', message: { body: {} } }))).toThrow(/http cannot reach "line" \(it serves http\)/);
    expect(() => loadRoutesFile(routesFile({ channel: 'http', message: { text: 'hi' } }))).toThrow(/body/);
  });
});

describe('http vendor end to end (real Redis, delivery worker, the sandbox receiver checks the signature)', () => {
  let rig: Rig;
  beforeAll(async () => { rig = await startRig(); });
  afterAll(async () => { await rig?.close(); });
  beforeEach(() => rig.sandbox.reset());
  afterEach(async () => { await rig.cleanup(); });

  const sandboxUrl = (path: string) => `${rig.sandbox.url}/http${path}`;

  it('posts the body byte for byte with a signature an independent HMAC accepts and the delivery id as idempotency key', async () => {
    const config = rig.config();
    await rig.enqueue('http', config, [{ id: 'h-1', orderId: 'H-1', payload: { body: { to: '+66812345678', text: 'Paid 1290 THB' } } }]);
    const { records } = await rig.startWorkers('http', config);
    const { state } = (await finalJobs('http', config, rig.redis.url, ['h-1'])).get('h-1')!;
    expect(state).toBe('completed');
    const [request, ...others] = rig.sandbox.requests('http');
    expect(others).toEqual([]);
    expect(request).toMatchObject({ method: 'POST', path: '/hook', status: 200, accepted: true });
    expect(request!.rawBody).toBe('{"to":"+66812345678","text":"Paid 1290 THB"}');
    expect(request!.headers['idempotency-key']).toBe('h-1');
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(request!.headers['x-order-notify-signature']!)!;
    expect(v1).toBe(createHmac('sha256', rig.sandbox.credentials.http!.secret!).update(`${t}.${request!.rawBody}`).digest('hex'));
    expect(await records.getDelivery('H-1', 'h-1')).toMatchObject({ status: 'sent', vendorMessageId: 'http-1', attempts: 1 });
  });

  it('posts to a per-rule URL only when the allowlist has it; any other URL fails at once and nothing is sent', async () => {
    const config = rig.config({ HTTP_VENDOR_ALLOWED_URLS: sandboxUrl('/other') });
    await rig.enqueue('http', config, [
      { id: 'allowed', payload: { url: sandboxUrl('/other'), body: { n: 1 } } },
      { id: 'elsewhere', payload: { url: 'https://attacker.example.net/collect', body: { n: 2 } } },
    ]);
    await rig.startWorkers('http', config);
    const jobs = await finalJobs('http', config, rig.redis.url, ['allowed', 'elsewhere']);
    expect(jobs.get('allowed')!.state).toBe('completed');
    expect(jobs.get('elsewhere')).toMatchObject({ state: 'failed', job: { attemptsMade: 1 } });
    expect(jobs.get('elsewhere')!.job.failedReason).toMatch(/url https:\/\/attacker\.example\.net\/collect is not allowed: add it to HTTP_VENDOR_ALLOWED_URLS/);
    expect(rig.sandbox.requests('http').map((r) => [r.path, r.status])).toEqual([['/other', 202]]);
  });

  it('retries by status: a listed status is tried again, any other fails at once with the gateway\'s words', async () => {
    const config = rig.config({ HTTP_VENDOR_ALLOWED_URLS: `${sandboxUrl('/status/503')},${sandboxUrl('/status/422')}`, DELIVERY_ATTEMPTS: '3' });
    await rig.enqueue('http', config, [
      { id: 's503', payload: { url: sandboxUrl('/status/503'), body: { n: 1 } } },
      { id: 's422', payload: { url: sandboxUrl('/status/422'), body: { n: 2 } } },
    ]);
    await rig.startWorkers('http', config);
    const jobs = await finalJobs('http', config, rig.redis.url, ['s503', 's422']);
    expect(jobs.get('s503')).toMatchObject({ state: 'failed', job: { attemptsMade: 3 } });
    expect(jobs.get('s422')).toMatchObject({ state: 'failed', job: { attemptsMade: 1 } });
    expect(jobs.get('s422')!.job.failedReason).toMatch(/forced 422.*HTTP 422 is not in HTTP_VENDOR_RETRY_STATUSES/);
    expect(rig.sandbox.requests('http').filter((r) => r.path === '/status/503')).toHaveLength(3);

    // The list is a setting: 422 retried when named.
    rig.sandbox.reset();
    await rig.cleanup();
    const retry422 = rig.config({ HTTP_VENDOR_ALLOWED_URLS: sandboxUrl('/status/422'), HTTP_VENDOR_RETRY_STATUSES: '422', DELIVERY_ATTEMPTS: '2' });
    await rig.enqueue('http', retry422, [{ id: 'again', payload: { url: sandboxUrl('/status/422'), body: {} } }]);
    await rig.startWorkers('http', retry422);
    expect((await finalJobs('http', retry422, rig.redis.url, ['again'])).get('again')).toMatchObject({ state: 'failed', job: { attemptsMade: 2 } });
  });

  it('a wrong secret is refused by the receiver (401, permanent) and never printed', async () => {
    const config = rig.config({ HTTP_VENDOR_SECRET: 'not-the-gateway-secret-but-long-enough' });
    const lines: string[] = [];
    await rig.enqueue('http', config, [{ id: 'badsig', payload: { body: { n: 1 } } }]);
    await rig.startWorkers('http', config, { logger: capturingLogger(lines, config) });
    const { job, state } = (await finalJobs('http', config, rig.redis.url, ['badsig'])).get('badsig')!;
    expect(state).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/signature does not match the body/);
    expect(rig.sandbox.requests('http').map((r) => r.status)).toEqual([401]);
    expect(lines.join('')).not.toContain('not-the-gateway-secret-but-long-enough');
  });

  it('runs through the generic entry `order-notify start http` as its own process', async () => {
    const config = rig.config();
    await rig.enqueue('http', config, [{ id: 'proc-1', payload: { body: { n: 1 } } }]);
    const child = await startChildWorker('src/cli.ts', {
      ...rig.sandbox.vendorEnv.http, REDIS_URL: rig.redis.url, QUEUE_PREFIX: config.queuePrefix, LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT: '5s',
    }, { args: ['start', 'http'], keepLines: Infinity });
    try {
      await waitFor(async () => rig.sandbox.accepted('http').length === 1, 'the http process to send', 30_000);
    } finally {
      const { code } = await child.kill('SIGTERM');
      expect(code, child.output()).toBe(0);
    }
    expect(child.output()).not.toContain(rig.sandbox.credentials.http!.secret);
  }, 45_000);

  it('the receiver\'s check is the documented scheme: stale or tampered requests are refused', () => {
    const now = 1_800_000_000;
    const body = '{"a":1}';
    const header = `t=${now},v1=${createHmac('sha256', SECRET).update(`${now}.${body}`).digest('hex')}`;
    expect(checkHttpSignature(header, body, SECRET, now)).toBeUndefined();
    expect(checkHttpSignature(header, '{"a":2}', SECRET, now)).toBe('signature does not match the body');
    expect(checkHttpSignature(header, body, SECRET, now + 301)).toMatch(/more than 300 s from now/);
    expect(checkHttpSignature(undefined, body, SECRET, now)).toMatch(/missing/);
  });
});
