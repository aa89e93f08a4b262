import pino from 'pino';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mantagoSetPairCommand } from '../../src/cli/commands/mantago-pair.js';
import type { MantagoConfig } from '../../src/config/env.js';
import { RetryableVendorError } from '../../src/delivery/errors.js';
import type { VendorCallMetrics } from '../../src/delivery/types.js';
import { createRedis, type RedisConnection } from '../../src/queues/connection.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createVendorHttp } from '../../src/http-client/instance.js';
import { createMantagoAdapter } from '../../src/vendors/mantago/adapter.js';
import { MantagoCredentialStore, pairId } from '../../src/vendors/mantago/credentials.js';
import { MantagoCredentialsRejected } from '../../src/vendors/mantago/errors.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { sleep } from '../support/wait.js';

let redis: TestRedis;
let sandbox: Sandbox;
const connections: RedisConnection[] = [];
let prefix: string;

function connect(): RedisConnection {
  const c = createRedis({ url: redis.url }, 'worker');
  connections.push(c);
  return c;
}
const seed = { token: 'env-token-1', secret: 'env-secret-1' };

beforeAll(async () => {
  redis = await startRedis();
  sandbox = await startSandbox();
});
afterAll(async () => {
  for (const c of connections) c.disconnect();
  await sandbox.close();
  await redis.stop();
});
beforeEach(() => {
  prefix = `c${Math.random().toString(36).slice(2, 8)}`;
  sandbox.reset();
});

describe('MantagoCredentialStore', () => {
  it('seeds the key from the env pair only when it is absent', async () => {
    const store = new MantagoCredentialStore(connect(), prefix, 'bot', seed);
    expect(await store.current()).toMatchObject(seed);
    expect(store.key).toBe(`${prefix}:mantago:credentials:bot`);
    await connect().set(store.key, JSON.stringify({ token: 'rotated-token', secret: 'rotated-secret' }));
    const restarted = new MantagoCredentialStore(connect(), prefix, 'bot', seed);
    expect(await restarted.current()).toMatchObject({ token: 'rotated-token', secret: 'rotated-secret' });
  });

  it('a damaged key is a retryable failure naming the key, not a crash', async () => {
    const store = new MantagoCredentialStore(connect(), prefix, 'bot', seed);
    await connect().set(store.key, 'not json');
    await expect(store.current()).rejects.toThrow(RetryableVendorError);
    await expect(store.current()).rejects.toThrow(store.key);
  });

  it('concurrent rotations of the same stale pair refresh exactly once; all see the new pair', async () => {
    const stores = Array.from({ length: 5 }, () => new MantagoCredentialStore(connect(), prefix, 'bot', seed, { pollMs: 10 }));
    const stale = await stores[0]!.current();
    let refreshes = 0;
    const refresh = async () => {
      refreshes++;
      await sleep(150);
      return { token: 'new-token', secret: 'new-secret' };
    };
    const results = await Promise.all(stores.map((s) => s.rotate(stale.id, refresh)));
    expect(refreshes).toBe(1);
    expect(results.filter((r) => r === 'rotated')).toHaveLength(1);
    expect(results.filter((r) => r === 'already-rotated')).toHaveLength(4);
    for (const s of stores) expect(await s.current()).toMatchObject({ token: 'new-token', secret: 'new-secret' });
    expect(await connect().exists(stores[0]!.lockKey)).toBe(0);
    // A late caller that still holds the old pair's id does not rotate again.
    expect(await stores[1]!.rotate(stale.id, refresh)).toBe('already-rotated');
    expect(refreshes).toBe(1);
  });

  it('a failed refresh releases the lock so a waiting replica can do it', async () => {
    const [a, b] = [0, 1].map(() => new MantagoCredentialStore(connect(), prefix, 'bot', seed, { pollMs: 10 }));
    const stale = await a!.current();
    const failing = a!.rotate(stale.id, async () => { await sleep(100); throw new RetryableVendorError('HTTP 503', { vendor: 'mantago' }); });
    await sleep(20);
    const working = b!.rotate(stale.id, async () => ({ token: 'b-token', secret: 'b-secret' }));
    await expect(failing).rejects.toThrow('HTTP 503');
    expect(await working).toBe('rotated');
    expect(await a!.current()).toMatchObject({ token: 'b-token' });
  });

  it('without permission to refresh (120000) it only waits and never calls the vendor', async () => {
    const store = new MantagoCredentialStore(connect(), prefix, 'bot', seed, { pollMs: 10 });
    const stale = await store.current();
    let called = false;
    expect(await store.rotate(stale.id, async () => { called = true; return seed; }, { mayRefresh: false })).toBe('unchanged');
    expect(called).toBe(false);
  });
});

describe('adapter.refreshAuth against the sandbox (several replicas in one process)', () => {
  const metrics = (): VendorCallMetrics & { refreshes: number } => ({ refreshes: 0, observeCall() {}, tokenRefreshed() { this.refreshes++; } });
  const config = (): MantagoConfig => {
    const c = sandbox.credentials.mantago;
    return { baseUrl: sandbox.urls.mantago, botId: c.botId, token: c.token, secret: c.secret, rateLimit: { max: 100, durationMs: 1_000 }, batchMax: 100, batchLingerMs: 0 };
  };
  const replica = () => {
    const m = metrics();
    const adapter = createMantagoAdapter({ config: config(), redis: connect(), prefix, http: createVendorHttp(3_000), logger: pino({ level: 'silent' }), metrics: m });
    return { adapter, m };
  };
  const delivery = (id: string) => ({ deliveryId: `r.${id}`, orderId: id, ruleId: 'r', payload: { platform: 'line' as const, clientIds: [`U-${id}`], intentId: 'rb2kYmMdW' } });
  const tokenCalls = () => sandbox.requests('mantago').filter((r) => r.path === '/openapi/token').length;

  it('one expiry seen by three replicas (and a late 1004) → one token call, everyone sends with the new pair', async () => {
    const replicas = [replica(), replica(), replica()];
    const late = replica();
    const oldToken = sandbox.credentials.mantago.token;
    for (const r of replicas) expect((await r.adapter.send([delivery('warm')]))[0]).toMatchObject({ ok: true });
    sandbox.expireToken('mantago');
    // Every replica, and the late one, gets 1004 with the old pair.
    for (const r of [...replicas, late]) await expect(r.adapter.send([delivery('x')])).rejects.toBeInstanceOf(MantagoCredentialsRejected);
    await Promise.all(replicas.map((r) => r.adapter.refreshAuth!()));
    expect(tokenCalls()).toBe(1);
    expect(replicas.map((r) => r.m.refreshes).reduce((a, b) => a + b)).toBe(1);
    // The late replica's 1004 refers to a pair that is no longer current: re-reading is enough.
    await late.adapter.refreshAuth!();
    expect(tokenCalls()).toBe(1);
    for (const r of [...replicas, late]) expect((await r.adapter.send([delivery('after')]))[0]).toMatchObject({ ok: true });
    const stored = JSON.parse((await connect().get(`${prefix}:mantago:credentials:${sandbox.credentials.mantago.botId}`))!);
    expect(stored).toMatchObject({ token: sandbox.credentials.mantago.token, secret: sandbox.credentials.mantago.secret });
    expect(stored.token).not.toBe(oldToken);
  });

  it('a 120000 (the pair was retired by a refresh) never calls the token endpoint: it only re-reads', async () => {
    const rotator = replica();
    const r = replica();
    const key = `${prefix}:mantago:credentials:${sandbox.credentials.mantago.botId}`;
    const oldPair = { token: sandbox.credentials.mantago.token, secret: sandbox.credentials.mantago.secret };
    sandbox.expireToken('mantago');
    await expect(rotator.adapter.send([delivery('a')])).rejects.toBeInstanceOf(MantagoCredentialsRejected);
    await rotator.adapter.refreshAuth!();
    expect(tokenCalls()).toBe(1);
    const rotated = await connect().get(key);
    // Simulate a replica whose store still yields the retired pair (the write of the new one lost or not yet done).
    await connect().set(key, JSON.stringify(oldPair));
    const e = await r.adapter.send([delivery('b')]).catch((err: unknown) => err);
    expect(e).toMatchObject({ code: 120000, remedy: 'reload' });
    // Nothing newer in Redis: the pair is lost, and the error says which command sets a new one.
    await expect(r.adapter.refreshAuth!()).rejects.toThrow(/the pair is lost.*order-notify mantago-set-pair/);
    expect(tokenCalls()).toBe(1);
    // The operator stores the pair MantaGO shows now; values come from the environment, only an id is printed.
    const out: string[] = [];
    const io = {
      stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => out.push(t) }, stdin: Readable.from([]),
      env: {
        REDIS_URL: redis.url, QUEUE_PREFIX: prefix, MANTAGO_BOT_ID: sandbox.credentials.mantago.botId, MANTAGO_TOKEN: oldPair.token, MANTAGO_SECRET: oldPair.secret,
        MANTAGO_NEW_TOKEN: sandbox.credentials.mantago.token, MANTAGO_NEW_SECRET: sandbox.credentials.mantago.secret,
      },
    };
    expect(await mantagoSetPairCommand(io, {})).toBe(0);
    expect(out.join('')).toMatch(/stored the new MantaGO pair \(id [0-9a-f]{16}\)/);
    expect(out.join('')).not.toContain(sandbox.credentials.mantago.secret);
    expect(JSON.parse((await connect().get(key))!)).toMatchObject({ token: sandbox.credentials.mantago.token, secret: sandbox.credentials.mantago.secret });
    await r.adapter.refreshAuth!();
    expect((await r.adapter.send([delivery('c')]))[0]).toMatchObject({ ok: true });
    expect(tokenCalls()).toBe(1);
    expect(pairId(oldPair)).not.toBe(pairId(sandbox.credentials.mantago));
  });
});
