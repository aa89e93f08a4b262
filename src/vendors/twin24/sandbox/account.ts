import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { describeIssues } from '../../../sandbox/issues.js';
import type { Outcome, VendorRequest, VendorRoute } from '../../../sandbox/recorder.js';
import { MESSAGE_ITEM_KEYS, SESSION_ITEM_KEYS, Twin24Timeline } from './timeline.js';
import type { SandboxCredentials, Twin24TimelineOptions } from '../../../sandbox/types.js';
import { answerQuery, BadQuery, flag, parseWindow, pick, type Query } from './query.js';

/**
 * Twin24 (WhatsApp): IAM login/refresh with expiring tokens, the notify send, and the analyse statistics that a
 * correlator polls (messages -> providerMessageId = chat session -> the session's bot results).
 */

type Twin24Credentials = SandboxCredentials['twin24'];

export const TWIN24_DEFAULTS: Twin24Credentials = {
  email: 'sandbox@example.com',
  password: 'sandbox-password',
  staticToken: 'sandbox-twin24-token',
  botId: 'b0700000-0000-4000-8000-000000000024',
  chatId: 'c4a70000-0000-4000-8000-000000000024',
};

const fail = (status: number, error: string, details?: unknown): Outcome => ({
  status,
  body: details === undefined ? { error } : { error, details },
  reason: details === undefined ? error : `${error}: ${Array.isArray(details) ? details.join('; ') : String(details)}`,
});

const ttl = z.number().int('must be an integer number of seconds').positive('must be positive');
const loginSchema = z.object({ email: z.string(), password: z.string(), ttl, companyId: z.string().min(1).optional() });
const refreshSchema = z.object({ refreshToken: z.string().min(1), ttl });

const sendSchema = z.object({
  messages: z
    .array(z.object({
      channels: z.object({
        chat: z.object({
          chatId: z.string().min(1),
          botId: z.string().min(1),
          messengerType: z.literal('WHATSAPP'),
          chatSessionName: z.string().min(1),
          text: z.string().min(1),
          provider: z.literal('TWIN'),
        }),
      }),
      callbackUrl: z.url({ protocol: /^https?$/ }).optional(),
      callbackData: z.string().optional(),
      destinations: z
        .array(z.object({
          phone: z.string(),
          messengerUserId: z.string().min(1).optional(),
          variables: z.record(z.string(), z.string()).optional(),
        }))
        .min(1, 'must list at least one destination'),
    }))
    .min(1, 'must hold at least one message'),
});

const PHONE = /^\d{7,15}$/;
/** Issued tokens and their lifetimes, plus the static token from config. */
class Twin24Auth {
  private access = new Map<string, { expiresAt: number; forcedExpired: boolean }>();
  private refreshTokens = new Set<string>();
  private staticExpired = false;

  constructor(private readonly credentials: Twin24Credentials) {}

  issue(ttlSec: number): { token: string; refreshToken: string } {
    const token = `tw24-${randomBytes(24).toString('base64url')}`;
    const refreshToken = `tw24r-${randomBytes(24).toString('base64url')}`;
    this.access.set(token, { expiresAt: Date.now() + ttlSec * 1000, forcedExpired: false });
    this.refreshTokens.add(refreshToken);
    return { token, refreshToken };
  }

  /** Spends a refresh token: true when it was valid (it never is again). */
  spend(refreshToken: string): boolean {
    return this.refreshTokens.delete(refreshToken);
  }

  /** Every token in use expires now; the static one for good, since a static token cannot be refreshed. */
  expire(): void {
    this.staticExpired = true;
    for (const t of this.access.values()) t.forcedExpired = true;
  }

  reset(): void {
    this.staticExpired = false;
    for (const t of this.access.values()) t.forcedExpired = false;
  }

  check(req: VendorRequest): Outcome | undefined {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined) return fail(401, 'Unauthorized', 'missing "Authorization: Bearer <token>"');
    if (token === this.credentials.staticToken) return this.staticExpired ? fail(401, 'Token is expired.') : undefined;
    const issued = this.access.get(token);
    if (!issued) return fail(401, 'Unauthorized');
    if (issued.forcedExpired || Date.now() >= issued.expiresAt) return fail(401, 'Token is expired.');
    return undefined;
  }
}

export class Twin24Account {
  readonly credentials: Twin24Credentials;
  readonly timeline: Twin24Timeline;
  private readonly auth: Twin24Auth;

  constructor(overrides: Partial<Twin24Credentials> = {}, timeline: Partial<Twin24TimelineOptions> = {}) {
    this.credentials = { ...TWIN24_DEFAULTS, ...overrides };
    this.timeline = new Twin24Timeline(timeline);
    this.auth = new Twin24Auth(this.credentials);
  }

  expireTokens(): void {
    this.auth.expire();
  }

  reset(): void {
    this.auth.reset();
    this.timeline.clear();
  }

  iamRoutes(): VendorRoute[] {
    return [
      { method: 'POST', url: '/auth/login', kind: 'auth', handle: (req) => this.login(req) },
      { method: 'POST', url: '/auth/refresh', kind: 'auth', handle: (req) => this.refresh(req) },
    ];
  }

  notifyRoutes(): VendorRoute[] {
    return [{ method: 'POST', url: '/messages', kind: 'send', handle: (req) => this.auth.check(req) ?? this.send(req) }];
  }

  analyseRoutes(): VendorRoute[] {
    return [
      {
        method: 'GET', url: '/statistics/messaging/messages', kind: 'read',
        handle: (req) => this.auth.check(req) ?? answerQuery(() => this.messageStats(req.query)),
      },
      {
        method: 'GET', url: '/statistics/chat/sessions', kind: 'read',
        handle: (req) => this.auth.check(req) ?? answerQuery(() => this.sessionStats(req.query)),
      },
    ];
  }

  private login(req: VendorRequest): Outcome {
    if (req.json === undefined) return fail(400, 'Invalid JSON', req.jsonError);
    const parsed = loginSchema.safeParse(req.json);
    if (!parsed.success) return fail(422, 'Validation failed', describeIssues(parsed.error));
    const { email, password } = parsed.data;
    if (email !== this.credentials.email || password !== this.credentials.password) {
      return fail(401, 'Invalid credentials', 'wrong email or password');
    }
    return { status: 200, body: this.auth.issue(parsed.data.ttl) };
  }

  private refresh(req: VendorRequest): Outcome {
    if (req.json === undefined) return fail(400, 'Invalid JSON', req.jsonError);
    const parsed = refreshSchema.safeParse(req.json);
    if (!parsed.success) return fail(422, 'Validation failed', describeIssues(parsed.error));
    if (!this.auth.spend(parsed.data.refreshToken)) return fail(401, 'Unauthorized', 'unknown or already used refresh token');
    return { status: 200, body: this.auth.issue(parsed.data.ttl) };
  }

  private send(req: VendorRequest): Outcome {
    if (req.json === undefined) return fail(400, 'Invalid JSON', req.jsonError);
    const parsed = sendSchema.safeParse(req.json);
    if (!parsed.success) return fail(422, 'Validation failed', describeIssues(parsed.error));
    // Check every message before creating any, so a refused request leaves nothing behind.
    for (const [i, m] of parsed.data.messages.entries()) {
      const { chatId, botId } = m.channels.chat;
      if (chatId !== this.credentials.chatId) return fail(404, 'Chat not found', `messages[${i}].channels.chat.chatId: ${chatId} is not a chat of this account`);
      if (botId !== this.credentials.botId) return fail(404, 'Bot not found', `messages[${i}].channels.chat.botId: ${botId} is not a bot of this account`);
    }
    const bulkId = randomUUID();
    const answer = parsed.data.messages.flatMap((m) => {
      const ids = { bulkId, groupId: randomUUID(), flowId: randomUUID() };
      return m.destinations.map((d) => {
        if (!PHONE.test(d.phone)) {
          const message = `phone "${d.phone}" must be 7 to 15 digits, country code first, no "+", spaces or dashes`;
          return { id: null, ...ids, status: 'ERROR', channel: 'CHAT', error: { code: 'INVALID_PHONE', message } };
        }
        const { chatId, botId, chatSessionName, text } = m.channels.chat;
        const created = this.timeline.create({
          ...ids, phone: d.phone, variables: d.variables ?? {}, chatId, botId, chatSessionName, text,
        });
        return { id: created.id, ...ids, status: 'CREATED', channel: 'CHAT', error: null };
      });
    });
    return { status: 200, body: answer };
  }

  private messageStats(query: Query): Outcome {
    const window = parseWindow(query, this.timeline.options.limitCap);
    if (query.channel !== undefined && query.channel !== 'CHAT') return fail(400, 'Bad Request', 'channel: only CHAT is supported');
    const unknown = window.fields?.filter((f) => !(MESSAGE_ITEM_KEYS as readonly string[]).includes(f)) ?? [];
    if (unknown.length > 0) return fail(400, 'Bad Request', `fields: unknown ${unknown.join(', ')} (known: ${MESSAGE_ITEM_KEYS.join(', ')})`);
    const all = this.timeline.messagesBetween(window.from, window.to);
    const keys = window.fields ?? MESSAGE_ITEM_KEYS;
    const items = all.slice(window.skip, window.skip + window.limit).map((m) => pick({ ...m }, keys));
    return { status: 200, body: window.withoutCount ? { items } : { count: all.length, items } };
  }

  private sessionStats(query: Query): Outcome {
    const options = this.timeline.options;
    const window = parseWindow(query, options.limitCap);
    const withoutItems = flag(query, 'withoutItems');
    if (options.requireSessionChatId && !query.chatId) {
      throw new BadQuery('chatId: required (the chat session id, i.e. the providerMessageId of the message)');
    }
    const all = this.timeline.sessionsBetween(window.from, window.to, query.chatId || undefined);
    // The seed asks for `fields=id,name,clientId,messengerType,nps` and its answer still carries the whole
    // dialogResultsFromBotJson: names that are not item keys are bot variables, and the results always come back.
    const keys = window.fields
      ? SESSION_ITEM_KEYS.filter((k) => k === 'dialogResultsFromBotJson' || window.fields!.includes(k))
      : SESSION_ITEM_KEYS;
    const botVariables = window.fields?.filter((f) => !(SESSION_ITEM_KEYS as readonly string[]).includes(f)) ?? [];
    const items = all.slice(window.skip, window.skip + window.limit).map((s) => {
      const item = pick({ ...s }, keys);
      if (options.botVariablesOnItem) for (const v of botVariables) if (v in s.dialogResultsFromBotJson) item[v] = s.dialogResultsFromBotJson[v];
      return item;
    });
    const body: { count?: number; items?: unknown[] } = {};
    if (!window.withoutCount) body.count = all.length;
    if (!withoutItems) body.items = items;
    return { status: 200, body };
  }
}
