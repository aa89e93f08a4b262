import { createHash } from 'node:crypto';
import type { AxiosInstance } from 'axios';
import { z } from 'zod';
import type { Twin24Config } from '../../config/env.js';
import { PermanentVendorError, RetryableVendorError, type VendorError } from '../../delivery/errors.js';
import type { VendorCallMetrics } from '../../delivery/types.js';
import type { RedisConnection } from '../../queues/connection.js';
import type { Logger } from '../../runtime/logger.js';
import { classifyTwin24Failure, VENDOR } from './errors.js';
import { postJson, type Twin24Http } from './http.js';
import { RedisLock } from '../../runtime/redis-lock.js';
import { learnSecret } from '../../runtime/redact.js';

/** Where every Twin24 caller (send workers, the correlator) gets its bearer token. */
export interface Twin24TokenSource {
  /** The current token (logs in first when there is none yet). */
  token(): Promise<string>;
  /**
   * A token newer than `staleToken` (the one that was refused as expired). When another process already replaced
   * it, that newer token is returned without calling Twin24.
   */
  refresh(staleToken: string): Promise<string>;
}

export interface Twin24AuthOptions {
  config: Twin24Config;
  redis: RedisConnection;
  prefix: string;
  http: AxiosInstance;
  logger: Logger;
  metrics: VendorCallMetrics;
}

export function createTwin24Auth(opts: Twin24AuthOptions): Twin24TokenSource {
  const { auth } = opts.config;
  if (auth.kind === 'static') return staticToken(auth.token);
  return new SharedLoginTokens(opts, auth);
}

function staticToken(token: string): Twin24TokenSource {
  return {
    token: async () => token,
    refresh: async () => {
      throw new PermanentVendorError('static token expired; set a new TWIN24_TOKEN', { vendor: VENDOR, code: 401, status: 401 });
    },
  };
}

type LoginAuth = Extract<Twin24Config['auth'], { kind: 'login' }>;

const tokenPairSchema = z.object({ token: z.string().min(1), refreshToken: z.string().min(1) });

/** What lives in Redis: the pair, when the token runs out, and which account it belongs to. */
const storedSchema = tokenPairSchema.extend({ expiresAt: z.number(), account: z.string() });
type Stored = z.infer<typeof storedSchema>;

const POLL_MS = 50;

/**
 * Login-mode tokens shared through Redis by every replica and the correlator. Only the holder of the Redis lock
 * logs in or refreshes (Twin24 refresh tokens are single-use, so two refreshers would waste one pair); everyone
 * else waits for the new pair and reuses it. Within a process, concurrent callers share one renewal.
 */
class SharedLoginTokens implements Twin24TokenSource {
  private readonly key: string;
  private readonly lock: RedisLock;
  private readonly account: string;
  private readonly ttlMs: number;
  /** Renew this long before expiry, so requests rarely meet an expired token. */
  private readonly earlyMs: number;
  /** How long a caller waits for another process's renewal before giving up (retryable). */
  private readonly waitLimitMs: number;
  private readonly io: Twin24Http;
  private renewing?: Promise<'renewed' | 'busy'>;

  constructor(private readonly opts: Twin24AuthOptions, private readonly auth: LoginAuth) {
    this.key = `${opts.prefix}:twin24:auth`;
    const timeoutMs = opts.http.defaults.timeout || 10_000;
    // A renewal is at most a refresh plus a fallback login.
    const lockTtlMs = 2 * timeoutMs + 5_000;
    this.lock = new RedisLock(opts.redis, `${this.key}:lock`, lockTtlMs);
    this.waitLimitMs = 2 * lockTtlMs;
    this.ttlMs = auth.ttlSec * 1000;
    this.earlyMs = Math.min(300_000, this.ttlMs / 10);
    // A changed account (or IAM) must not reuse the old account's token; the password is not part of it.
    this.account = createHash('sha256').update(`${opts.config.iamUrl}\n${auth.email}\n${auth.companyId ?? ''}`).digest('hex').slice(0, 16);
    this.io = { http: opts.http, metrics: opts.metrics };
  }

  token(): Promise<string> {
    return this.obtain(undefined);
  }

  refresh(staleToken: string): Promise<string> {
    return this.obtain(staleToken);
  }

  private async obtain(stale: string | undefined): Promise<string> {
    const deadline = Date.now() + this.waitLimitMs;
    for (;;) {
      const current = await this.read();
      if (current && this.usable(current, stale)) return current.token;
      this.renewing ??= this.renew(stale).finally(() => { this.renewing = undefined; });
      if ((await this.renewing) === 'busy') {
        if (Date.now() > deadline) {
          throw new RetryableVendorError('another process is renewing the Twin24 token and has not finished', { vendor: VENDOR });
        }
        await sleep(POLL_MS + Math.random() * POLL_MS);
      }
    }
  }

  /** Not the refused token, and not about to expire. */
  private usable(current: Stored, stale: string | undefined): boolean {
    return current.token !== stale && Date.now() < current.expiresAt - this.earlyMs;
  }

  private async read(): Promise<Stored | undefined> {
    const raw = await this.opts.redis.get(this.key);
    if (raw === null) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const parsed = storedSchema.safeParse(json);
    if (!parsed.success || parsed.data.account !== this.account) return undefined;
    learnSecret(parsed.data.token); // fresh tokens are redacted from logs like TWIN24_TOKEN
    learnSecret(parsed.data.refreshToken);
    return parsed.data;
  }

  /** One renewal attempt under the lock; 'busy' when another process holds it. */
  private async renew(stale: string | undefined): Promise<'renewed' | 'busy'> {
    const held = await this.lock.hold(async (owner) => {
      // Someone may have finished a renewal between our read and taking the lock.
      const current = await this.read();
      if (current && this.usable(current, stale)) return;
      const how = current ? 'refresh' : 'login';
      const pair = current ? await this.refreshOrLogin(current.refreshToken) : await this.login();
      const stored: Stored = { ...pair, expiresAt: Date.now() + this.ttlMs, account: this.account };
      if (!(await owner.setIfOwner(this.key, JSON.stringify(stored)))) {
        this.opts.logger.warn({ vendor: VENDOR }, 'twin24 token renewal outlived its lock; using the newer token instead');
        return;
      }
      this.opts.metrics.tokenRefreshed(VENDOR);
      this.opts.logger.info({ vendor: VENDOR, how }, 'twin24 token renewed');
    });
    return held ? 'renewed' : 'busy';
  }

  private async refreshOrLogin(refreshToken: string): Promise<z.infer<typeof tokenPairSchema>> {
    try {
      return await this.call('refresh', `${this.opts.config.iamUrl}/auth/refresh`, { refreshToken, ttl: this.auth.ttlSec });
    } catch (e) {
      // A refused refresh token (spent, expired, revoked) is what a fresh login is for; outages are not.
      const kind = (e as VendorError).kind;
      if (kind !== 'permanent' && kind !== 'auth_expired') throw e;
      this.opts.logger.info({ vendor: VENDOR, reason: (e as Error).message }, 'twin24 refresh token refused; logging in again');
      return this.login();
    }
  }

  private login(): Promise<z.infer<typeof tokenPairSchema>> {
    const { email, password, companyId, ttlSec } = this.auth;
    return this.call('login', `${this.opts.config.iamUrl}/auth/login`, { email, password, ttl: ttlSec, ...(companyId ? { companyId } : {}) });
  }

  /** An IAM call; failures come back as the taxonomy (no request config attached: it holds the password). */
  private async call(what: 'login' | 'refresh', url: string, body: object): Promise<z.infer<typeof tokenPairSchema>> {
    let data: unknown;
    try {
      ({ data } = await postJson(this.io, url, `auth/${what}`, body));
    } catch (e) {
      throw classifyTwin24Failure(e, what);
    }
    const parsed = tokenPairSchema.safeParse(data);
    if (!parsed.success) throw new RetryableVendorError(`${what} answered without token and refreshToken`, { vendor: VENDOR });
    return parsed.data;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
