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
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** A random secret for the out-of-the-box mode: URL-safe, 256 bits. */
export function generateSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** onRequest hook: `Authorization: Bearer <token>`; runs before the body is read, so strangers cannot make us parse. */
export function requireBearer(token: string, onRejected?: () => void) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const presented = bearerToken(req.headers.authorization);
    if (presented !== undefined && safeEqual(presented, token)) return;
    onRejected?.();
    await reply.code(401).header('www-authenticate', 'Bearer realm="order-notify"')
      .send({ error: presented === undefined ? 'missing bearer token (Authorization: Bearer <INGEST_TOKEN>)' : 'invalid bearer token' });
  };
}

/** onRequest hook: HTTP basic auth; both fields compared in constant time, and both always compared. */
export function requireBasic(user: string, password: string) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const presented = basicCredentials(req.headers.authorization);
    const userOk = safeEqual(presented?.user ?? '', user);
    const passwordOk = safeEqual(presented?.password ?? '', password);
    if (presented && userOk && passwordOk) return;
    await reply.code(401).header('www-authenticate', 'Basic realm="order-notify dashboard", charset="UTF-8"')
      .send({ error: 'authentication required' });
  };
}
