import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env.js';
import { parseDuration } from '../src/config/duration.js';
import { retryEnvelopeMs } from '../src/queues/backoff.js';
import { VENDORS } from '../src/vendors/registry.js';

describe('environment configuration', () => {
  it('has working defaults and disables vendors without credentials', () => {
    const c = loadConfig({});
    expect(c.redis.url).toBe('redis://127.0.0.1:6379');
    expect(c.queuePrefix).toBe('order-notify');
    expect(c.vendors).toEqual({});
    // Every registered vendor, the four chat vendors first: none has credentials by default.
    expect(c.disabledVendors.map((d) => d.vendor)).toEqual(VENDORS);
    expect(VENDORS.slice(0, 4)).toEqual(['mantago', 'joinchat', 'metabot', 'twin24']);
  });

  it('uses the real vendor hosts by default', () => {
    const c = loadConfig({ MANTAGO_BOT_ID: 'b', MANTAGO_TOKEN: 't', MANTAGO_SECRET: 's', JOINCHAT_PAGE_ID: 'p', JOINCHAT_SECRET: 's',
      METABOT_BOT_ID: '1', METABOT_TOKEN: 't', TWIN24_TOKEN: 't', TWIN24_BOT_ID: 'b', TWIN24_CHAT_ID: 'c' });
    expect(c.vendors.mantago?.baseUrl).toBe('https://mantago.cc/api');
    expect(c.vendors.joinchat?.baseUrl).toBe('https://joinchat.ai/api');
    expect(c.vendors.joinchat?.signatureHeader).toBe('x-joinchat-signature');
    expect(c.vendors.metabot?.baseUrl).toBe('https://app.metabot24.com/api/v1');
    expect(c.vendors.twin24).toMatchObject({
      iamUrl: 'https://iam.twin24.ai/api/v1', notifyUrl: 'https://notify.twin24.ai/api/v1', analyseUrl: 'https://analyse.twin24.ai/api/v1',
      auth: { kind: 'static', token: 't' },
    });
  });

  it('accepts a Redis Cluster hash-tag prefix, and requires one on a cluster', () => {
    expect(loadConfig({ QUEUE_PREFIX: '{order-notify}' }).queuePrefix).toBe('{order-notify}');
    expect(loadConfig({ QUEUE_PREFIX: '{order-notify}', REDIS_CLUSTER_NODES: 'redis://a:7000,redis://b:7001' }).redis.clusterNodes).toEqual(['redis://a:7000', 'redis://b:7001']);
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis://a:7000' })).toThrow(/QUEUE_PREFIX: must hold a hash tag on Redis Cluster, e.g. \{order-notify\}/);
  });

  it('lists every problem by variable name in one error', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ REDIS_URL: 'localhost:6379', LOG_LEVEL: 'loud', QUEUE_PREFIX: 'a:b', TWIN24_POLL_EVERY: 'soon', MANTAGO_RATE_LIMIT: 'fast', MANTAGO_BASE_URL: 'nope' });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = error!.problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(expect.arrayContaining(['REDIS_URL', 'LOG_LEVEL', 'QUEUE_PREFIX', 'TWIN24_POLL_EVERY', 'MANTAGO_RATE_LIMIT', 'MANTAGO_BASE_URL']));
    expect(error!.message).toContain('TWIN24_POLL_EVERY: "soon" is not a duration');
  });

  it('names the missing half of partial credentials', () => {
    expect(() => loadConfig({ MANTAGO_TOKEN: 't' })).toThrow(/MANTAGO_BOT_ID: required to enable mantago[\s\S]*MANTAGO_SECRET/);
    expect(() => loadConfig({ TWIN24_EMAIL: 'a@b.c', TWIN24_BOT_ID: 'b', TWIN24_CHAT_ID: 'c' })).toThrow(/TWIN24_PASSWORD/);
    expect(() => loadConfig({ RESULTS_WEBHOOK_URL: 'http://x.test/hook' })).toThrow(/RESULTS_WEBHOOK_SECRET/);
  });

  it('parses durations and rates', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration('soon')).toBeUndefined();
    expect(loadConfig({ TWIN24_RATE_LIMIT: '600/1m', TWIN24_TOKEN: 't', TWIN24_BOT_ID: 'b', TWIN24_CHAT_ID: 'c' }).vendors.twin24?.rateLimit).toEqual({ max: 600, durationMs: 60_000 });
  });

  it('retries by default for longer than a one-hour vendor outage', () => {
    const d = loadConfig({}).delivery;
    expect(retryEnvelopeMs(d.attempts, d.backoffMs, d.backoffMaxMs)).toBeGreaterThan(3_600_000);
  });
});
