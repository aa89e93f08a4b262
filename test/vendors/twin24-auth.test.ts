import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentVendorError } from '../../src/delivery/errors.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createTwin24Auth } from '../../src/vendors/twin24/auth.js';
import { authCalls, counterValue, directCtx, postJson as post, startTwin24Rig, type Twin24Rig } from './twin24-rig.js';

let rig: Twin24Rig;
beforeAll(async () => { rig = await startTwin24Rig(); });
afterAll(async () => { await rig.close(); });
beforeEach(() => rig.sandbox.reset());
afterEach(async () => { await rig.cleanup(); });

/** Is this token accepted by the sandbox's notify service right now? (an empty body: 422 = auth passed) */
async function accepted(token: string): Promise<boolean> {
  const res = await post(`${rig.sandbox.urls.twin24Notify}/messages`, {}, { authorization: `Bearer ${token}` });
  return res.status !== 401;
}

describe('Twin24 auth: static token', () => {
  it('returns the configured token and refuses to refresh with an actionable message', async () => {
    const config = rig.config({ TWIN24_TOKEN: rig.sandbox.credentials.twin24.staticToken });
    const auth = createTwin24Auth(directCtx(rig, config));
    expect(await auth.token()).toBe(rig.sandbox.credentials.twin24.staticToken);
    const err = await auth.refresh(rig.sandbox.credentials.twin24.staticToken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentVendorError);
    expect((err as Error).message).toBe('twin24 401: static token expired; set a new TWIN24_TOKEN');
    expect(authCalls(rig.sandbox)).toHaveLength(0);
  });
});

describe('Twin24 auth: login', () => {
  it('logs in once with email, password, ttl and companyId, and keeps the pair in Redis', async () => {
    const config = rig.config({ TWIN24_COMPANY_ID: 'company-7', TWIN24_TOKEN_TTL: '3600' });
    const metrics = new Metrics({ defaultMetrics: false });
    const auth = createTwin24Auth(directCtx(rig, config, metrics));
    const token = await auth.token();
    expect(await auth.token()).toBe(token);
    const logins = authCalls(rig.sandbox);
    expect(logins).toHaveLength(1);
    expect(logins[0]!.path).toBe('/auth/login');
    expect(JSON.parse(logins[0]!.rawBody)).toEqual({
      email: rig.sandbox.credentials.twin24.email, password: rig.sandbox.credentials.twin24.password, ttl: 3600, companyId: 'company-7',
    });
    const stored = JSON.parse((await rig.connection().get(`${config.queuePrefix}:twin24:auth`))!);
    expect(stored).toMatchObject({ token, refreshToken: expect.any(String), expiresAt: expect.any(Number) });
    expect(await accepted(token)).toBe(true);
    expect(await counterValue(metrics, 'tokenRefreshes')).toBe(1);
  });

  it('replicas share one login: ten concurrent callers in three processes → one login call', async () => {
    const config = rig.config();
    const replicas = [0, 1, 2].map(() => createTwin24Auth(directCtx(rig, config)));
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => replicas[i % 3]!.token()));
    expect(new Set(tokens).size).toBe(1);
    expect(authCalls(rig.sandbox)).toHaveLength(1);
  });

  it('an expired token is refreshed exactly once across replicas; later refresh(stale) calls reuse the new token', async () => {
    const config = rig.config();
    const metrics = [0, 1, 2].map(() => new Metrics({ defaultMetrics: false }));
    const replicas = metrics.map((m) => createTwin24Auth(directCtx(rig, config, m)));
    const old = await replicas[0]!.token();
    rig.sandbox.expireToken('twin24');
    expect(await accepted(old)).toBe(false);

    const fresh = await Promise.all(Array.from({ length: 9 }, (_, i) => replicas[i % 3]!.refresh(old)));
    expect(new Set(fresh).size).toBe(1);
    expect(fresh[0]).not.toBe(old);
    expect(await accepted(fresh[0]!)).toBe(true);
    expect(authCalls(rig.sandbox, '/auth/refresh')).toHaveLength(1);
    expect(authCalls(rig.sandbox, '/auth/login')).toHaveLength(1); // the first token only
    // A straggler holding the old token gets the new one without another call.
    expect(await replicas[2]!.refresh(old)).toBe(fresh[0]);
    expect(authCalls(rig.sandbox)).toHaveLength(2);
    const counted = await Promise.all(metrics.map((m) => counterValue(m, 'tokenRefreshes')));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(2); // one login + one refresh, wherever they happened
  });

  it('falls back to a fresh login when the refresh token is refused', async () => {
    const config = rig.config();
    const key = `${config.queuePrefix}:twin24:auth`;
    const auth = createTwin24Auth(directCtx(rig, config));
    const old = await auth.token();
    // Spend the stored refresh token behind our back, as another system using the same account might.
    const stored = JSON.parse((await rig.connection().get(key))!);
    expect((await post(`${rig.sandbox.urls.twin24Iam}/auth/refresh`, { refreshToken: stored.refreshToken, ttl: 60 })).status).toBe(200);
    rig.sandbox.expireToken('twin24');

    const fresh = await auth.refresh(old);
    expect(await accepted(fresh)).toBe(true);
    expect(authCalls(rig.sandbox).map((r) => [r.path, r.status])).toEqual([
      ['/auth/login', 200], ['/auth/refresh', 200], ['/auth/refresh', 401], ['/auth/login', 200],
    ]);
  });

  it('renews ahead of expiry, so a token about to run out is never handed out', async () => {
    const config = rig.config();
    const key = `${config.queuePrefix}:twin24:auth`;
    const auth = createTwin24Auth(directCtx(rig, config));
    const first = await auth.token();
    const stored = JSON.parse((await rig.connection().get(key))!);
    await rig.connection().set(key, JSON.stringify({ ...stored, expiresAt: Date.now() + 1_000 }));
    const second = await auth.token();
    expect(second).not.toBe(first);
    expect(authCalls(rig.sandbox).map((r) => r.path)).toEqual(['/auth/login', '/auth/refresh']);
  });

  it('bad credentials: one permanent error carrying Twin24\'s error, never the password', async () => {
    const config = rig.config({ TWIN24_PASSWORD: 'wrong-password-123' });
    const auth = createTwin24Auth(directCtx(rig, config));
    const errors = await Promise.all([auth.token(), auth.token(), auth.token()].map((p) => p.catch((e: unknown) => e)));
    for (const err of errors) {
      expect(err).toBeInstanceOf(PermanentVendorError);
      expect((err as Error).message).toBe('twin24 401: login: Invalid credentials: wrong email or password');
      expect((err as Error).message).not.toContain('wrong-password-123');
      expect((err as Error).cause).toBeUndefined();
    }
    expect(authCalls(rig.sandbox)).toHaveLength(1);
  });

  it('an unreachable IAM is retryable, and the error carries no request (it would hold the password)', async () => {
    const config = rig.config();
    rig.sandbox.setFaults('twin24', { refuseConnections: true });
    const err = await createTwin24Auth(directCtx(rig, config)).token().catch((e: unknown) => e);
    expect((err as { kind: string }).kind).toBe('retryable');
    expect((err as Error).message).toMatch(/^twin24: login: no answer/);
    expect((err as Error).cause).toBeUndefined();
  });
});
