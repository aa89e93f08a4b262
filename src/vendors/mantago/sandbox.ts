import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from '../../sandbox/issues.js';
import type { Outcome, VendorRequest, VendorRoute } from '../../sandbox/recorder.js';
import type { SandboxCredentials } from '../../sandbox/types.js';

/**
 * MantaGO (LINE / Facebook pushes), as docs/vendors/mantago.md describes it: Bearer token + botId in query and body + secret in
 * the body; a token refresh rotates BOTH values and the old pair then answers 120000.
 */

type MantagoCredentials = SandboxCredentials['mantago'];

export const MANTAGO_DEFAULTS: MantagoCredentials = {
  botId: 'sandbox-bot',
  token: 'sandbox-mantago-token',
  secret: 'sandbox-mantago-secret',
};

const FB_TAGS = ['POST_PURCHASE_UPDATE', 'ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'HUMAN_AGENT'] as const;

const broadcastSchema = z
  .object({
    botId: z.string().min(1),
    clientIds: z.array(z.string().min(1)).min(1, 'must list at least one client'),
    platform: z.enum(['line', 'facebook']),
    secret: z.string().min(1),
    intentId: z.string().min(1).optional(),
    message: z.string().min(1).optional(),
    fbTag: z.enum(FB_TAGS).optional(),
    name: z.string().min(1).optional(),
  })
  .superRefine((b, ctx) => {
    if ((b.intentId === undefined) === (b.message === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['intentId'], message: 'send exactly one of intentId or message' });
    }
    if (b.platform === 'facebook' && b.fbTag === undefined) {
      ctx.addIssue({ code: 'custom', path: ['fbTag'], message: `required for platform "facebook" (one of ${FB_TAGS.join(', ')})` });
    }
  });

/** The bot's one credential pair, its rotations and the pairs it has retired. */
export class MantagoAccount {
  readonly credentials: MantagoCredentials;
  private expired = false;
  private readonly retiredTokens = new Set<string>();
  private readonly retiredSecrets = new Set<string>();

  constructor(overrides: Partial<MantagoCredentials> = {}) {
    this.credentials = { ...MANTAGO_DEFAULTS, ...overrides };
  }

  /** The current token now answers 1004 until a refresh. */
  expire(): void {
    this.expired = true;
  }

  /** Back to a usable current pair (rotations are kept: they are credentials). */
  reset(): void {
    this.expired = false;
  }

  routes(): VendorRoute[] {
    return [
      { method: 'POST', url: '/openapi/broadcast', kind: 'send', handle: (req) => this.broadcast(req) },
      { method: 'POST', url: '/openapi/token', kind: 'auth', handle: (req) => this.refresh(req) },
    ];
  }

  private fail(status: number, code: number, message: string): Outcome {
    return {
      status,
      body: { success: false, errResponse: { message, code, botId: this.credentials.botId } },
      reason: `${code}: ${message}`,
    };
  }

  /** Checks shared by both endpoints: botId in the query, then the bearer token. */
  private checkBotAndToken(req: VendorRequest): Outcome | undefined {
    const botId = req.query.botId;
    if (botId !== this.credentials.botId) {
      return this.fail(404, 5001, botId ? `botId "${botId}" not found` : 'botId is missing from the query string');
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) return this.fail(403, 1002, 'Permission denied: missing "Authorization: Bearer <apiToken>"');
    if (token === this.credentials.token) return undefined;
    if (this.retiredTokens.has(token)) return this.fail(401, 120000, 'The token was replaced by a refresh: use the new apiToken and apiSecret');
    return this.fail(403, 1002, 'Permission denied: unknown token');
  }

  /** The body's secret: 1002 when unknown, 120000 when it belongs to a retired pair. */
  private checkSecret(secret: unknown): Outcome | undefined {
    if (typeof secret !== 'string' || secret === '') return this.fail(400, 110000, 'Required fields missing: secret');
    if (secret === this.credentials.secret) return undefined;
    if (this.retiredSecrets.has(secret)) return this.fail(401, 120000, 'The secret was replaced by a refresh: use the new apiToken and apiSecret');
    return this.fail(403, 1002, 'Permission denied: wrong secret');
  }

  private broadcast(req: VendorRequest): Outcome {
    const denied = this.checkBotAndToken(req);
    if (denied) return denied;
    if (this.expired) return this.fail(401, 1004, 'Token is invalid or expired');
    const body = req.json;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return this.fail(400, 110000, `Required fields missing: ${req.jsonError ?? 'the body must be a JSON object'}`);
    }
    const fields = body as Record<string, unknown>;
    if (fields.botId !== undefined && fields.botId !== this.credentials.botId) {
      return this.fail(404, 5001, `botId "${String(fields.botId)}" in the body not found`);
    }
    const badSecret = this.checkSecret(fields.secret);
    if (badSecret) return badSecret;
    const parsed = broadcastSchema.safeParse(body);
    if (!parsed.success) {
      const problems = describeIssues(parsed.error).join('; ');
      return this.fail(400, 110000, `Required fields missing or invalid: ${problems}`);
    }
    const unknown = parsed.data.clientIds.find((id) => id.startsWith('unknown'));
    if (unknown !== undefined) return this.fail(404, 37011, `client not found: ${unknown}`);
    return { status: 200, body: { success: true, message: 'Send customer broadcast successfully' } };
  }

  /** Accepts the current token even when expired (that is what a refresh is for), then rotates both values. */
  private refresh(req: VendorRequest): Outcome {
    const denied = this.checkBotAndToken(req);
    if (denied) return denied;
    const body = req.json as { secret?: unknown } | undefined;
    const badSecret = this.checkSecret(typeof body === 'object' && body !== null ? body.secret : undefined);
    if (badSecret) return badSecret;
    this.retiredTokens.add(this.credentials.token);
    this.retiredSecrets.add(this.credentials.secret);
    this.credentials.token = `mtg-${randomBytes(18).toString('base64url')}`;
    this.credentials.secret = `mts-${randomBytes(18).toString('base64url')}`;
    this.expired = false;
    return {
      status: 200,
      body: {
        success: true,
        message: 'Refresh token successfully',
        apiToken: this.credentials.token,
        apiSecret: this.credentials.secret,
      },
    };
  }
}
