import { z } from 'zod';

/** Largest JSON body a rule may render: a gateway message, not a file upload. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * What a rule's message renders to: the JSON `body` to post, and optionally which allowlisted `url` to post it to
 * (absent: HTTP_VENDOR_URL). The allowlist is checked when the delivery is sent (config is not known here).
 */
export const httpPayloadSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' }).optional(),
    body: z.record(z.string(), z.unknown()),
  })
  .strict()
  .refine((p) => Buffer.byteLength(JSON.stringify(p.body)) <= MAX_BODY_BYTES, { path: ['body'], message: `must be at most ${MAX_BODY_BYTES} bytes as JSON` });
export type HttpPayload = z.infer<typeof httpPayloadSchema>;
