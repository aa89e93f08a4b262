import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, StartupError } from '../../src/runtime/exit-codes.js';
import { createLogger } from '../../src/runtime/logger.js';
import { checkRedis, compareVersions, type RedisInfoSource } from '../../src/runtime/redis-checks.js';
import { startRedis, type TestRedis } from '../support/redis.js';

/**
 * Scenario 7: the start-up checks. An evicting Redis is checked for real (redis-server started with
 * allkeys-lru); an old Redis cannot be installed here, so its INFO reply is stubbed.
 */
function capture() {
  const lines: Array<{ level: string; msg: string }> = [];
  const logger = createLogger({ destination: new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c))); cb(); } }) });
  return { logger, lines };
}

/** An INFO reply as Redis formats it (sections, CRLF), with the fields that matter. */
function infoStub(version: string | undefined, policy = 'noeviction'): RedisInfoSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async info(section: string) {
      asked.push(section);
      if (section === 'server') return `# Server\r\n${version ? `redis_version:${version}\r\n` : ''}redis_mode:standalone\r\nos:Linux\r\n`;
      return `# Memory\r\nused_memory:1000\r\nmaxmemory:0\r\nmaxmemory_policy:${policy}\r\n`;
    },
  };
}

describe('Redis start-up checks', () => {
  let good: TestRedis;
  let evicting: TestRedis;
  const clients: Redis[] = [];
  beforeAll(async () => {
    [good, evicting] = await Promise.all([startRedis(), startRedis(['--maxmemory-policy', 'allkeys-lru'])]);
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all([good?.stop(), evicting?.stop()]);
  });
  const connect = (r: TestRedis) => {
    const c = new Redis(r.url);
    clients.push(c);
    return c;
  };

  it('a real Redis with noeviction passes quietly and reports its version', async () => {
    const { logger, lines } = capture();
    const report = await checkRedis(connect(good), logger);
    expect(report.warnings).toEqual([]);
    expect(lines).toEqual([]);
    expect(compareVersions(report.nodes[0]!.version!, '6.2.0')).toBeGreaterThanOrEqual(0);
    expect(report.nodes[0]!.maxmemoryPolicy).toBe('noeviction');
  });

  it('a real Redis with maxmemory-policy allkeys-lru gets a loud warning that says what to do', async () => {
    const { logger, lines } = capture();
    const report = await checkRedis(connect(evicting), logger);
    expect(report.nodes[0]!.maxmemoryPolicy).toBe('allkeys-lru');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('warn');
    expect(lines[0]!.msg).toContain('allkeys-lru');
    expect(lines[0]!.msg).toContain('DATA LOSS RISK');
    expect(lines[0]!.msg).toContain('noeviction');
    expect(report.warnings).toEqual([lines[0]!.msg]);
  });

  it('a Redis below 6.2 is refused with a clear message and the configuration exit code', async () => {
    for (const old of ['6.0.16', '5.0.7', '4.0.14', '6.1.99']) {
      const error = await checkRedis(infoStub(old), capture().logger).then(() => undefined, (e: unknown) => e);
      expect(error, old).toBeInstanceOf(StartupError);
      expect((error as StartupError).exitCode).toBe(EXIT.config);
      expect((error as StartupError).message).toContain(`version ${old}`);
      expect((error as StartupError).message).toContain('needs Redis 6.2.0 or newer');
    }
  });

  it('6.2 and newer (Valkey and Redis 8 report redis_version too) pass', async () => {
    for (const ok of ['6.2.0', '6.2.14', '7.0.15', '7.4.1', '8.0.2', '10.0.0']) {
      const stub = infoStub(ok);
      const report = await checkRedis(stub, capture().logger);
      expect(report.nodes[0]!.version).toBe(ok);
      expect(stub.asked).toEqual(['server', 'memory']);
    }
  });

  it('a stubbed old AND evicting Redis is refused (the version decides first)', async () => {
    await expect(checkRedis(infoStub('6.0.0', 'volatile-lru'), capture().logger)).rejects.toBeInstanceOf(StartupError);
  });

  it('when INFO is not allowed (managed Redis, ACL), it warns and lets start-up go on', async () => {
    const { logger, lines } = capture();
    const denied: RedisInfoSource = { info: async () => { throw new Error("NOPERM this user has no permissions to run the 'info' command"); } };
    const report = await checkRedis(denied, logger);
    expect(report.warnings).toHaveLength(1);
    expect(lines[0]!.level).toBe('warn');
    expect(lines[0]!.msg).toContain('not checked');
  });

  it('compares versions numerically, not as text', () => {
    expect(compareVersions('10.0.0', '6.2.0')).toBe(1);
    expect(compareVersions('6.2', '6.2.0')).toBe(0);
    expect(compareVersions('6.10.1', '6.2.0')).toBe(1);
    expect(compareVersions('6.1.99', '6.2.0')).toBe(-1);
  });
});
