import { z } from 'zod';

export const METABOT_SELECTORS = ['script_id', 'script_code', 'trigger_id', 'trigger_code', 'broadcast_id', 'broadcast_code'] as const;
const RUN_AT_LOCAL = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** Tags go on the wire as one comma-separated string; a rule may list them. */
const tags = z.union([z.string().min(1), z.array(z.string().min(1).regex(/^[^,]+$/, 'must not contain a comma')).min(1)])
  .transform((t) => (Array.isArray(t) ? t.join(',') : t));
const id = z.union([z.number().int().positive(), z.string().regex(/^\d+$/).transform(Number)]);

/**
 * A Metabot job schedule request body. `run_at` may be an ISO date-time with offset (converted to the platform's
 * time zone at send time) or already in the platform's `YYYY-MM-DD hh:mm:ss` form.
 */
export const metabotPayloadSchema = z
  .object({
    script_id: id.optional(),
    script_code: z.string().min(1).max(200).optional(),
    trigger_id: id.optional(),
    trigger_code: z.string().min(1).max(200).optional(),
    broadcast_id: id.optional(),
    broadcast_code: z.string().min(1).max(200).optional(),
    lead_id: id.optional(),
    ticket_id: id.optional(),
    run_at: z.string().refine((s) => RUN_AT_LOCAL.test(s) || !Number.isNaN(Date.parse(s)) && /[zZ]|[+-]\d{2}:?\d{2}$/.test(s),
      'must be "YYYY-MM-DD hh:mm:ss" (platform time) or an ISO date-time with offset').optional(),
    run_after_sec: z.number().int().min(0).optional(),
    is_periodic: z.boolean().optional(),
    // Not in the seed's table (docs/vendors/metabot.md lists it from the vendor's docs): sent only when a rule sets it.
    repeat_interval_sec: z.number().int().positive().optional(),
    condition_script_code: z.string().min(1).max(10_000).optional(),
    script_request_params: z.record(z.string(), z.unknown()).optional(),
    add_tags: tags.optional(),
    remove_tags: tags.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const chosen = METABOT_SELECTORS.filter((k) => p[k] !== undefined);
    if (chosen.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['script_id'], message: `exactly one of ${METABOT_SELECTORS.join(', ')} is required (got ${chosen.length ? chosen.join(', ') : 'none'})` });
    }
  });
export type MetabotPayload = z.infer<typeof metabotPayloadSchema>;

/**
 * Jobs that need no lead from the event: the rule names one itself (a `lead_id` template), works on a ticket, or
 * runs a broadcast (which reaches its own audience). Guess from the seed's field list: only lead-less kinds it names.
 */
export function metabotRuleNeedsNoLead(message: Record<string, unknown>): boolean {
  return ['lead_id', 'ticket_id', 'broadcast_id', 'broadcast_code'].some((k) => message[k] !== undefined);
}
export const isLocalRunAt = (s: string) => RUN_AT_LOCAL.test(s);
