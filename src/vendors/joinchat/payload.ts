import { z } from 'zod';
import { httpUrl } from '../../events/http-url.js';

/** JoinChat (Messenger) message templates with every limit from docs/vendors/joinchat.md: what breaks one never gets queued. */
const max = (n: number) => z.string().min(1).max(n, `must be at most ${n} characters`);

/** The Messenger URL-button fields the seed's own examples use (list and generic templates). */
const webviewFields = {
  webview_height_ratio: z.enum(['compact', 'tall', 'full']).optional(),
  messenger_extensions: z.boolean().optional(),
  fallback_url: httpUrl().optional(),
};
const blockOrFlowId = z.union([z.string().min(1), z.number().int().nonnegative()]);

/**
 * A postback's payload: the seed documents `{ block_id, flow_id }` (its example carries both, as strings) and its
 * generic/list examples send Messenger's plain string payload; both are accepted.
 */
const postbackPayload = z.union([
  z.string().min(1).max(1_000),
  z.object({ block_id: blockOrFlowId.optional(), flow_id: blockOrFlowId.optional() }).strict()
    .refine((p) => p.block_id !== undefined || p.flow_id !== undefined, 'needs block_id and/or flow_id'),
]);

const button = z.discriminatedUnion('type', [
  z.object({ type: z.literal('web_url'), url: httpUrl(), title: max(20), ...webviewFields }).strict(),
  z.object({ type: z.literal('postback'), title: max(20), payload: postbackPayload }).strict(),
]);

const defaultAction = z.object({ type: z.literal('web_url'), url: httpUrl(), ...webviewFields }).strict();

const textTemplate = z.object({ template_type: z.literal('text'), text: max(640) }).strict();

const buttonTemplate = z.object({
  template_type: z.literal('button'),
  text: max(640),
  buttons: z.array(button).min(1, 'needs at least 1 button').max(3, 'allows at most 3 buttons'),
}).strict();

const genericTemplate = z.object({
  template_type: z.literal('generic'),
  elements: z.array(z.object({
    title: max(80),
    subtitle: max(80).optional(),
    image_url: httpUrl().optional(),
    default_action: defaultAction.optional(),
    buttons: z.array(button).max(3, 'allows at most 3 buttons').optional(),
  }).strict()).min(1).max(10, 'allows at most 10 elements'),
}).strict();

const listTemplate = z.object({
  template_type: z.literal('list'),
  top_element_style: z.enum(['compact', 'large']).optional(),
  elements: z.array(z.object({
    title: max(80),
    subtitle: max(80).optional(),
    image_url: httpUrl().optional(),
    default_action: defaultAction.optional(),
    buttons: z.array(button).max(1, 'allows at most 1 button per element').optional(),
  }).strict().refine((e) => e.image_url !== undefined || e.subtitle !== undefined, 'each element needs image_url or subtitle'))
    .min(2, 'needs at least 2 elements').max(4, 'allows at most 4 elements'),
  buttons: z.array(button).max(1, 'allows at most 1 bottom button').optional(),
}).strict();

const amount = z.number().finite();
const receiptTemplate = z.object({
  template_type: z.literal('receipt'),
  recipient_name: max(200),
  order_number: max(200),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be a 3-letter currency code'),
  payment_method: max(200),
  order_url: httpUrl().optional(),
  timestamp: z.union([z.string().regex(/^\d+$/), z.number().int()]).optional(),
  address: z.object({
    street_1: max(200), street_2: max(200).optional(), city: max(100), postal_code: max(20), state: max(100), country: max(100),
  }).strict().optional(),
  summary: z.object({
    subtotal: amount.optional(), shipping_cost: amount.optional(), total_tax: amount.optional(), total_cost: amount,
  }).strict(),
  adjustments: z.array(z.object({ name: max(200), amount }).strict()).optional(),
  elements: z.array(z.object({
    title: max(200), subtitle: max(200).optional(), quantity: z.number().int().optional(), price: amount,
    currency: z.string().regex(/^[A-Z]{3}$/).optional(), image_url: httpUrl().optional(),
  }).strict()).max(100, 'allows at most 100 elements').optional(),
}).strict();

export const joinchatMessageSchema = z.discriminatedUnion('template_type', [
  textTemplate, buttonTemplate, genericTemplate, listTemplate, receiptTemplate,
]);

export const joinchatRecipientSchema = z
  .object({ id: z.string().min(1).optional(), phone: z.string().min(1).optional(), email: z.string().min(1).optional(), uuid: z.string().min(1).optional() })
  .strict()
  .refine((r) => Object.values(r).filter((v) => v !== undefined).length === 1, 'exactly one of id, phone, email or uuid');

/** The body of POST /send_message minus page_id (added at send time from config). */
export const joinchatPayloadSchema = z.object({
  recipient: joinchatRecipientSchema,
  message: joinchatMessageSchema,
  tag: z.enum(['POST_PURCHASE_UPDATE', 'ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'HUMAN_AGENT']).optional(),
  delay: z.number().int().min(0, 'must be 0 to 10 seconds').max(10, 'must be 0 to 10 seconds').optional(),
}).strict();
export type JoinchatPayload = z.infer<typeof joinchatPayloadSchema>;
