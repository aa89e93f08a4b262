import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { describeIssue } from '../../sandbox/issues.js';
import type { Outcome, VendorRequest, VendorRoute } from '../../sandbox/recorder.js';
import type { SandboxCredentials } from '../../sandbox/types.js';

/**
 * JoinChat (Facebook Messenger): the body is signed with HMAC-SHA256 over its exact bytes, and every message
 * template limit in docs/vendors/joinchat.md is enforced, as the real service refuses a message that breaks one.
 */

type JoinchatCredentials = SandboxCredentials['joinchat'];

export const JOINCHAT_DEFAULTS: JoinchatCredentials = {
  // All digits and above 2^53, like a real Facebook page id: what the seed sends as a JSON integer must arrive exact.
  pageId: '104857600012345678',
  secret: 'sandbox-joinchat-secret',
  signatureHeader: 'x-joinchat-signature',
};

const MESSAGE_TAGS = ['POST_PURCHASE_UPDATE', 'ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'HUMAN_AGENT'] as const;
const TEMPLATE_TYPES = ['text', 'button', 'generic', 'list', 'receipt'] as const;

/** Limits are in characters (code points), not UTF-16 units: an emoji is one character to a person. */
const text = (max: number) =>
  z
    .string()
    .min(1, 'must not be empty')
    .refine((s) => [...s].length <= max, `must be at most ${max} characters`);
const url = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });
const id = z.union([z.string().min(1), z.number().int()]);

/** Messenger's URL-button fields, as the seed's list and generic examples use them. */
const webview = {
  webview_height_ratio: z.enum(['compact', 'tall', 'full'], { message: 'must be compact, tall or full' }).optional(),
  messenger_extensions: z.boolean('must be true or false').optional(),
  fallback_url: url.optional(),
};

const button = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('web_url'), url, title: text(20), ...webview }),
  z.strictObject({
    type: z.literal('postback'),
    title: text(20),
    // The seed documents { block_id, flow_id } (its example has both) and its templates send a plain string.
    payload: z.union([
      z.string().min(1),
      z.strictObject({ block_id: id.optional(), flow_id: id.optional() })
        .refine((p) => p.block_id !== undefined || p.flow_id !== undefined, 'must hold block_id and/or flow_id'),
    ], { message: 'must be a string or { block_id and/or flow_id }' }),
  }),
], { message: 'type must be "web_url" or "postback"' });
const buttons = (min: number, max: number) =>
  z.array(button).min(min, `needs at least ${min} button${min === 1 ? '' : 's'}`).max(max, `allows at most ${max} button${max === 1 ? '' : 's'}`);

const defaultAction = z.strictObject({ type: z.literal('web_url'), url, ...webview });
const amount = z.number();

const templates = {
  text: z.object({ text: text(640) }),
  button: z.object({ text: text(640), buttons: buttons(1, 3) }),
  generic: z.object({
    elements: z
      .array(z.object({
        title: text(80),
        subtitle: text(80).optional(),
        image_url: url.optional(),
        default_action: defaultAction.optional(),
        buttons: buttons(0, 3).optional(),
      }))
      .min(1, 'needs at least 1 element')
      .max(10, 'allows at most 10 elements'),
  }),
  list: z.object({
    top_element_style: z.enum(['compact', 'large'], { message: 'must be "compact" or "large"' }).optional(),
    elements: z
      .array(z.object({
        title: text(80),
        subtitle: text(80).optional(),
        image_url: url.optional(),
        default_action: defaultAction.optional(),
        buttons: buttons(0, 1).optional(),
      }).refine((e) => e.image_url !== undefined || e.subtitle !== undefined, 'needs image_url or subtitle'))
      .min(2, 'needs at least 2 elements')
      .max(4, 'allows at most 4 elements'),
    buttons: z.array(button).max(1, 'allows at most 1 bottom button').optional(),
  }),
  receipt: z.object({
    recipient_name: z.string().min(1, 'must not be empty'),
    order_number: z.string().min(1, 'must not be empty'),
    currency: z.string().min(1, 'must not be empty'),
    payment_method: z.string().min(1, 'must not be empty'),
    order_url: url.optional(),
    timestamp: z.union([z.string(), z.number()]).optional(),
    address: z.object({
      street_1: z.string().min(1), street_2: z.string().optional(), city: z.string().min(1),
      postal_code: z.string().min(1), state: z.string().min(1), country: z.string().min(1),
    }).optional(),
    summary: z.object({
      subtotal: amount.optional(), shipping_cost: amount.optional(), total_tax: amount.optional(), total_cost: amount,
    }),
    adjustments: z.array(z.object({ name: z.string().min(1), amount })).optional(),
    elements: z
      .array(z.object({
        title: z.string().min(1), subtitle: z.string().optional(), quantity: z.number().int().optional(),
        price: amount, currency: z.string().optional(), image_url: url.optional(),
      }))
      .max(100, 'allows at most 100 elements')
      .optional(),
  }),
} satisfies Record<(typeof TEMPLATE_TYPES)[number], z.ZodType>;

const RECIPIENT_KEYS = ['id', 'phone', 'email', 'uuid'] as const;

const envelope = z.object({
  // Any number here (zod's int() refuses integers above 2^53); the digits as written are checked in send().
  page_id: z.union([z.string().min(1), z.number()], { message: 'must be the page id (a JSON integer, as the seed sends it)' }),
  recipient: z
    .object({ id: z.string().min(1).optional(), phone: z.string().min(1).optional(), email: z.string().min(1).optional(), uuid: z.string().min(1).optional() })
    .refine((r) => RECIPIENT_KEYS.filter((k) => r[k] !== undefined).length === 1, 'must hold exactly one of id, phone, email or uuid'),
  // Loose: the template's own fields are checked next, by the schema for its template_type.
  message: z.looseObject({ template_type: z.enum(TEMPLATE_TYPES, { message: `must be one of ${TEMPLATE_TYPES.join(', ')}` }) }),
  tag: z.enum(MESSAGE_TAGS, { message: `must be one of ${MESSAGE_TAGS.join(', ')}` }).optional(),
  delay: z.number().int('must be an integer number of seconds').min(0, 'must be 0 to 10').max(10, 'must be 0 to 10').optional(),
});

/** The top-level page_id exactly as the body wrote it (JSON.parse source access keeps a number's digits). */
function pageIdAsWritten(raw: string): { kind: 'number' | 'string' | 'other'; text: string } | undefined {
  let found: { kind: 'number' | 'string' | 'other'; text: string } | undefined;
  const root = JSON.parse(raw, (key, value, context?: { source?: string }) => {
    if (key === 'page_id') {
      const kind = typeof value === 'number' ? 'number' : typeof value === 'string' ? 'string' : 'other';
      found = { kind, text: kind === 'number' ? (context?.source ?? String(value)) : String(value) };
    }
    return value;
  }) as Record<string, unknown>;
  // Revivers run innermost first: the last page_id seen is the top-level one, if there is one at all.
  return root && typeof root === 'object' && 'page_id' in root ? found : undefined;
}

export function joinchatSignature(raw: Buffer | string, secret: string): string {
  return createHmac('sha256', secret).update(raw).digest('base64');
}

function fail(status: number, code: number, msg: string): Outcome {
  return { status, body: { success: false, error: { code, msg } }, reason: `${code}: ${msg}` };
}

/** Messenger gives every user a page-scoped id; a stable fake one for recipients addressed by phone/email/uuid. */
function pageScopedId(kind: string, value: string): string {
  return BigInt(`0x${createHash('sha256').update(`${kind}:${value}`).digest('hex').slice(0, 13)}`).toString();
}

export class JoinchatPage {
  readonly credentials: JoinchatCredentials;

  constructor(overrides: Partial<JoinchatCredentials> = {}) {
    this.credentials = { ...JOINCHAT_DEFAULTS, ...overrides };
  }

  routes(): VendorRoute[] {
    return [{ method: 'POST', url: '/send_message', kind: 'send', handle: (req) => this.send(req) }];
  }

  private checkSignature(req: VendorRequest): Outcome | undefined {
    const header = this.credentials.signatureHeader.toLowerCase();
    const sent = req.headers[header];
    if (sent === undefined) {
      const underscored = header.replaceAll('-', '_');
      const hint = req.headers[underscored] !== undefined ? ` (${underscored} was sent: use the hyphen form)` : '';
      return fail(401, 401, `missing signature header ${header}${hint}`);
    }
    const expected = Buffer.from(joinchatSignature(req.rawBytes, this.credentials.secret));
    const given = Buffer.from(sent);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return fail(401, 401, `signature does not match the body: expected base64(HMAC-SHA256(raw body, secret)) in ${header}`);
    }
    return undefined;
  }

  private send(req: VendorRequest): Outcome {
    const unsigned = this.checkSignature(req);
    if (unsigned) return unsigned;
    if (req.json === undefined) return fail(400, 100, `body: ${req.jsonError ?? 'is not JSON'}`);

    const head = envelope.safeParse(req.json);
    if (!head.success) return fail(400, 100, describeIssue(head.error.issues[0]!));
    const { recipient, message } = head.data;
    // The digits as written: a JSON number above 2^53 would be rounded by JSON.parse.
    const pageId = pageIdAsWritten(req.rawBytes.toString('utf8'));
    if (/^\d+$/.test(this.credentials.pageId) && pageId?.kind !== 'number') {
      return fail(400, 100, `page_id: must be a JSON integer (the seed sends "page_id":12345), got a ${pageId?.kind ?? 'missing value'}`);
    }
    if (pageId?.text !== this.credentials.pageId) {
      return fail(400, 100, `page_id: ${pageId?.text ?? '(none)'} is not this bot's page`);
    }
    const template = templates[message.template_type].safeParse(message);
    if (!template.success) {
      const issue = template.error.issues[0]!;
      return fail(400, 100, describeIssue({ ...issue, path: ['message', ...issue.path] }));
    }

    const [kind, value] = Object.entries(recipient).find(([, v]) => v !== undefined) as [string, string];
    if (value.startsWith('unknown')) return fail(400, 10010, 'Recipient not found');
    return {
      status: 200,
      body: { success: true, recipient_id: kind === 'id' ? value : pageScopedId(kind, value) },
    };
  }
}
