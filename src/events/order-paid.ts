import { z } from 'zod';
import { httpUrl } from './http-url.js';

/**
 * The `order.paid` event: what the monolith tells us, validated at every entrance (producer, HTTP ingest, fan-out).
 * Unknown extra fields are kept (the monolith may send more than we use) but must be plain, shallow data:
 * prototype-pollution keys and deep nesting are refused so hostile input cannot reach templates or Redis.
 */
const MAX_TEXT = 1_000;
const text = (max = MAX_TEXT) => z.string().trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const money = z.number().finite().nonnegative('must not be negative');

export const messengerRecipientSchema = z
  .object({
    psid: text(100).optional(),
    uuid: text(100).optional(),
    phone: text(32).optional(),
    email: z.email('must be an e-mail address').max(254).optional(),
  })
  .strict()
  .refine((r) => Object.values(r).filter((v) => v !== undefined).length === 1, {
    message: 'exactly one of psid, uuid, phone or email is required',
  });

export const channelsSchema = z
  .object({
    /** MantaGO client id of the customer's LINE chat. */
    lineUserId: text(100).optional(),
    /** MantaGO client id of the customer's Facebook chat. */
    facebookUserId: text(100).optional(),
    /** JoinChat (Messenger) recipient: one of psid, uuid, phone, email. */
    messenger: messengerRecipientSchema.optional(),
    /** Metabot lead id (a positive integer). */
    metabotLeadId: z.number().int().positive().optional(),
    /** WhatsApp phone for Twin24, any common format: digits are kept, country code first. */
    whatsappPhone: z.string().trim().regex(/^\+?[\d\s().-]{7,24}$/, 'must be a phone number with country code, e.g. +66 81 234 5678').optional(),
  })
  .strict();

export const orderItemSchema = z
  .object({
    name: text(200),
    quantity: z.number().int().positive('must be a positive whole number').max(1_000_000),
    unitPrice: money,
    sku: text(100).optional(),
    imageUrl: httpUrl().optional(),
  })
  .strict();

export const addressSchema = z
  .object({
    street1: text(200),
    street2: text(200).optional(),
    city: text(100),
    postalCode: text(20),
    state: text(100),
    country: text(100),
  })
  .strict();

/** An IANA zone name (Asia/Bangkok, America/New_York, UTC); offsets such as +07:00 are not zones. */
function isIanaZone(zone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-]*(\/[A-Za-z0-9_+\-]+)*$/.test(zone)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_EXTRA_DEPTH = 6;
/**
 * Caps on the unknown extra fields (everything the schema below does not name): they ride along in job data, the
 * dashboard and logs, so their size is bounded like every known field. Documented in docs/security.md.
 */
export const MAX_EXTRA_STRING = 2_000;
export const MAX_EXTRA_BYTES = 16_384;
const KNOWN_FIELDS = new Set(['event', 'orderId', 'paidAt', 'currency', 'total', 'items', 'customer', 'orderUrl', 'paymentMethod', 'shippingAddress']);

/** Size of the extra fields (JSON-ish: keys and strings by UTF-8 length, other values by a small constant); stops past the cap. */
function extraProblem(input: unknown): string | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return undefined;
  let bytes = 0;
  const walk = (value: unknown, path: string, depth: number): string | undefined => {
    if (typeof value === 'string') {
      if (value.length > MAX_EXTRA_STRING) return `${path}: extra text fields may be at most ${MAX_EXTRA_STRING} characters`;
      bytes += Buffer.byteLength(value) + 2;
    } else if (value !== null && typeof value === 'object' && depth <= MAX_EXTRA_DEPTH) {
      for (const [k, v] of Object.entries(value)) {
        bytes += Buffer.byteLength(k) + 4;
        if (bytes > MAX_EXTRA_BYTES) break;
        const problem = walk(v, `${path}.${k}`, depth + 1);
        if (problem) return problem;
      }
    } else {
      bytes += 8;
    }
    return bytes > MAX_EXTRA_BYTES ? `${path.split('.')[1] ?? path}: the extra fields (those this schema does not name) may hold at most ${MAX_EXTRA_BYTES} bytes in all` : undefined;
  };
  for (const [k, v] of Object.entries(input)) {
    if (KNOWN_FIELDS.has(k)) continue;
    const problem = walk(v, `.${k}`, 1);
    if (problem) return problem;
  }
  return undefined;
}

/** Walks unknown extra fields: no pollution keys, bounded depth. Returns the first problem with its path. */
function findHostile(value: unknown, path: string, depth: number): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_EXTRA_DEPTH) return `${path}: nested deeper than ${MAX_EXTRA_DEPTH} levels`;
  for (const key of Object.keys(value)) {
    if (FORBIDDEN_KEYS.has(key)) return `${path}.${key}: key "${key}" is not allowed`;
    const problem = findHostile((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

const orderPaidFields = z
  .looseObject({
    event: z.literal('order.paid').optional(),
    orderId: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters')
      .refine((s) => !/[\u0000-\u001f]/.test(s), 'must not contain control characters'),
    paidAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 date-time with offset, e.g. 2026-11-21T10:15:00+07:00' }),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter ISO 4217 code such as THB'),
    total: money,
    items: z.array(orderItemSchema).min(1, 'must list at least one item').max(500, 'must list at most 500 items'),
    customer: z
      .object({
        name: text(200),
        locale: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'must be a BCP 47 tag such as th-TH'),
        channels: channelsSchema,
        /** The customer's IANA time zone: quiet hours (a rule's sendWindow) are read in it. */
        timeZone: z.string().max(64).refine(isIanaZone, 'must be an IANA time zone such as Asia/Bangkok').optional(),
      })
      .strict(),
    orderUrl: httpUrl().optional(),
    paymentMethod: text(100).optional(),
    shippingAddress: addressSchema.optional(),
  });

/**
 * The hostile-key and depth check runs on the RAW input, before zod copies it: zod's copy of a loose object drops an
 * own `__proto__` key (assigning it sets a prototype), so a check on the parsed output never sees it.
 */
export const orderPaidSchema = z.preprocess((input, ctx) => {
  const problem = findHostile(input, '', 0) ?? extraProblem(input);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.replace(/^\./, ''), path: [], input });
  return input;
}, orderPaidFields);

export type OrderPaid = z.infer<typeof orderPaidSchema>;
export type CustomerChannels = z.infer<typeof channelsSchema>;

export interface FieldError { field: string; message: string }

/** A validation failure that names each bad field; derived from ZodError so callers can use either. */
export class InvalidEventError extends z.ZodError {
  readonly fieldErrors: FieldError[];
  constructor(error: z.ZodError) {
    super(error.issues);
    this.name = 'InvalidEventError';
    this.fieldErrors = toFieldErrors(error);
    // ZodError defines `message` as an own property holding JSON; a person needs one readable line.
    Object.defineProperty(this, 'message', {
      value: `invalid order.paid event: ${this.fieldErrors.map((f) => `${f.field}: ${f.message}`).join('; ')}`,
    });
  }
}

export function toFieldErrors(error: z.ZodError): FieldError[] {
  // `field` is public API (dotted, items.0.sku): kept as it was; the message is the shared issue text.
  return error.issues.map((i) => ({ field: i.path.length ? i.path.map(String).join('.') : '(event)', message: i.message }));
}

/** Validates an unknown value as an order.paid event; throws InvalidEventError naming every bad field. */
export function parseOrderPaid(input: unknown): OrderPaid {
  const result = orderPaidSchema.safeParse(input);
  if (!result.success) throw new InvalidEventError(result.error);
  return result.data;
}
