import { z } from 'zod';

/** Messenger message tags MantaGO accepts for Facebook pushes outside the 24-hour window. */
export const FB_TAGS = ['POST_PURCHASE_UPDATE', 'ACCOUNT_UPDATE', 'CONFIRMED_EVENT_UPDATE', 'HUMAN_AGENT'] as const;

/**
 * One MantaGO broadcast as the rule renders it, minus botId and secret (added at send time from the
 * credential store, so they never sit in job data). Exactly one of intentId or message.
 */
export const mantagoPayloadSchema = z
  .object({
    platform: z.enum(['line', 'facebook']),
    clientIds: z.array(z.string().min(1).max(200)).min(1),
    intentId: z.string().min(1).max(100).optional(),
    message: z.string().min(1).max(2_000, 'must be at most 2000 characters').optional(),
    fbTag: z.enum(FB_TAGS).optional(),
    name: z.string().min(1).max(200).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.intentId === undefined) === (p.message === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['intentId'], message: 'exactly one of intentId or message is required' });
    }
    if (p.platform === 'facebook' && !p.fbTag) {
      ctx.addIssue({ code: 'custom', path: ['fbTag'], message: `is required for platform facebook (one of ${FB_TAGS.join(', ')})` });
    }
  });
export type MantagoPayload = z.infer<typeof mantagoPayloadSchema>;
