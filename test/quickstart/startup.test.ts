import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/env.js';
import { NO_REDIS_MESSAGE, planStartup } from '../../src/quickstart/startup-plan.js';
import { StartupError } from '../../src/runtime/exit-codes.js';
import { VENDORS } from '../../src/vendors/registry.js';

const REAL = {
  MANTAGO_BOT_ID: 'b', MANTAGO_TOKEN: 'token-mantago', MANTAGO_SECRET: 'secret-mantago', JOINCHAT_PAGE_ID: 'p', JOINCHAT_SECRET: 'secret-joinchat',
  METABOT_BOT_ID: '1', METABOT_TOKEN: 'token-metabot', TWIN24_TOKEN: 'token-twin24', TWIN24_BOT_ID: 'b', TWIN24_CHAT_ID: 'c',
  HTTP_VENDOR_URL: 'https://gw.example.com/notify', HTTP_VENDOR_SECRET: 'a-gateway-secret-of-24-bytes+',
};
const machine = (localRedisAnswers: boolean, redisServerOnPath = true) => ({ localRedisAnswers, redisServerOnPath });

describe('what npm start brings up itself', () => {
  it('nothing configured, nothing on 6379: embedded Redis, every vendor in the sandbox, examples seeded', () => {
    expect(planStartup({}, machine(false))).toEqual({ embeddedRedis: true, sandboxVendors: VENDORS, seedExamples: true });
  });

  it('a Redis answering on 127.0.0.1:6379 is used instead of an embedded one', () => {
    expect(planStartup({}, machine(true)).embeddedRedis).toBe(false);
  });

  it('REDIS_URL set: never embeds, and seeds nothing even with the sandbox', () => {
    expect(planStartup({ REDIS_URL: 'redis://redis.internal:6379' }, machine(false, false))).toEqual({
      embeddedRedis: false, sandboxVendors: VENDORS, seedExamples: false,
    });
  });

  it('real credentials and REDIS_URL: the plain process, no sandbox, no seeding', () => {
    expect(planStartup({ REDIS_URL: 'redis://redis.internal:6379', ...REAL }, machine(false))).toEqual({ embeddedRedis: false, sandboxVendors: [], seedExamples: false });
  });

  it('only the vendors without credentials go to the sandbox', () => {
    const { TWIN24_TOKEN, TWIN24_BOT_ID, TWIN24_CHAT_ID, ...rest } = REAL;
    void TWIN24_TOKEN; void TWIN24_BOT_ID; void TWIN24_CHAT_ID;
    const plan = planStartup(rest, machine(false));
    expect(plan.sandboxVendors).toEqual(['twin24']);
    expect(plan.seedExamples).toBe(false);
  });

  it('no redis-server on PATH and none running: one clear message on how to get Redis', () => {
    let error: unknown;
    try { planStartup({}, machine(false, false)); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(StartupError);
    expect((error as StartupError).exitCode).toBe(4);
    expect((error as Error).message).toBe(NO_REDIS_MESSAGE);
    expect(NO_REDIS_MESSAGE).toMatch(/apt-get install redis-server[\s\S]*brew install redis[\s\S]*docker run/);
  });

  it('a bad setting still stops start-up with the variable named', () => {
    expect(() => planStartup({ LOG_LEVEL: 'chatty' }, machine(false))).toThrow(ConfigError);
  });
});
