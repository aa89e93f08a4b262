import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Constant-time comparison of a presented secret with the expected one. Both sides are hashed first so the
 * comparison takes the same time whatever the lengths (timingSafeEqual alone throws on a length mismatch, and
 * an early length check would leak the length).
 */
export function safeEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]{1,1024})\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A random secret for the out-of-the-box mode: URL-safe, 256 bits. */
export function generateSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Counts failed authentications per client (@fastify/rate-limit's `createRateLimit`): `peek` reads the count without
 * consuming, `fail` consumes one. While a client is over the limit every attempt is refused with 429, a correct
 * one included: otherwise a guesser could keep guessing and tell a hit by the 200.
 */
export interface AuthFailureLimiter {
  check(req: FastifyRequest, opts?: { increment?: boolean }): Promise<{ isAllowed?: boolean; isExceeded?: boolean; remaining?: number; ttlInSeconds?: number }>;
}

async function tooManyFailures(limiter: AuthFailureLimiter | undefined, req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  if (!limiter) return false;
  const status = await limiter.check(req, { increment: false });
  // A peek does not count itself: `remaining` 0 means the limit's worth of failures is used up.
  if (status.isAllowed || (!status.isExceeded && (status.remaining ?? 1) > 0)) return false;
  await reply.code(429).header('retry-after', String(Math.max(1, status.ttlInSeconds ?? 60)))
    .send({ error: 'too many failed authentication attempts from this client; retry later' });
  return true;
}

/** One accepted bearer token and what it may do. */
export interface ScopedToken { token: string; scope: string }

/**
 * onRequest hook: `Authorization: Bearer <token>` holding a token of the given scope; runs before the body is read,
 * so strangers cannot make us parse. A valid token of another scope is refused with 403 (it is not a guess).
 */
export function requireBearer(tokens: readonly ScopedToken[], scope: string, opts: { limiter?: AuthFailureLimiter; onRejected?: () => void; hint?: string } = {}) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (await tooManyFailures(opts.limiter, req, reply)) return;
    const presented = bearerToken(req.headers.authorization);
    // Every token is compared, whatever matched, so the time taken does not say which one did.
    const matched = presented === undefined ? [] : tokens.filter((t) => safeEqual(presented, t.token));
    if (matched.some((t) => t.scope === scope)) return;
    opts.onRejected?.();
    if (matched.length) {
      await reply.code(403).send({ error: `this token may not do that (it needs the "${scope}" scope)` });
      return;
    }
    await opts.limiter?.check(req);
    await reply.code(401).header('www-authenticate', 'Bearer realm="order-notify"')
      .send({ error: presented === undefined ? `missing bearer token (Authorization: Bearer <${opts.hint ?? 'token'}>)` : 'invalid bearer token' });
  };
}

export interface BasicUser<R extends string = string> { user: string; password: string; role: R }

/**
 * onRequest hook: HTTP basic auth against a list of users; user and password compared in constant time for every
 * user. On success `onUser` receives the matching user (the dashboard keeps the role for its route guard).
 */
export function requireBasic<R extends string>(users: ReadonlyArray<BasicUser<R>>, opts: { limiter?: AuthFailureLimiter; onUser?: (req: FastifyRequest, user: BasicUser<R>) => void } = {}) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (await tooManyFailures(opts.limiter, req, reply)) return;
    const presented = basicCredentials(req.headers.authorization);
    let found: BasicUser<R> | undefined;
    for (const u of users) {
      const userOk = safeEqual(presented?.user ?? '', u.user);
      const passwordOk = safeEqual(presented?.password ?? '', u.password);
      if (presented && userOk && passwordOk && !found) found = u;
    }
    if (found) {
      opts.onUser?.(req, found);
      return;
    }
    // A browser's first request carries no credentials: only a wrong attempt counts as a failure.
    if (presented) await opts.limiter?.check(req);
    await reply.code(401).header('www-authenticate', 'Basic realm="order-notify dashboard", charset="UTF-8"')
      .send({ error: 'authentication required' });
  };
}
