import { z } from 'zod';
import { httpUrl } from '../../events/http-url.js';

/** Twin24 wants digits only, country code first: "+66 (81) 234-5678" → "66812345678". */
export function normalizePhone(raw: string): string {
  return raw.replace(/\D/g, '');
}

const variableValue = z.union([z.string(), z.number(), z.boolean()]).transform(String);

/**
 * One WhatsApp message to one destination. Many deliveries that share everything but the destination go out in
 * one request (destinations[]), so the shared part and the destination are kept apart.
 */
export const twin24PayloadSchema = z
  .object({
    botId: z.string().min(1).optional(),
    chatId: z.string().min(1).optional(),
    chatSessionName: z.string().min(1).max(200),
    text: z.string().min(1).max(4_096, 'must be at most 4096 characters (WhatsApp limit)'),
    callbackUrl: httpUrl().optional(),
    callbackData: z.string().max(1_000).optional(),
    destination: z
      .object({
        phone: z.string().transform(normalizePhone).pipe(z.string().regex(/^\d{7,15}$/, 'must have 7 to 15 digits, country code first')),
        messengerUserId: z.string().min(1).optional(),
        variables: z.record(z.string(), variableValue).optional(),
      })
      .strict(),
  })
  .strict();
export type Twin24Payload = z.infer<typeof twin24PayloadSchema>;
