import { z } from 'zod';
import { isValidTimeZone, parseClock, WEEKDAYS, type SendWindowSpec } from '../delivery/send-window.js';
import { durationMs } from '../config/duration.js';

/** The parts of a routing rule about fallback chains and quiet hours (schema here, checks in checkChains). */

const clock = z.string().refine((s) => parseClock(s) !== undefined, 'must be a time of day "HH:MM" (00:00-23:59)');

export const sendWindowSchema = z
  .object({
    from: clock,
    to: clock,
    /** Days the window opens on (a window crossing midnight belongs to the day it opens). Default: every day. */
    days: z.array(z.enum(WEEKDAYS)).min(1).optional(),
    /** Used when the order carries no customer.timeZone; else SEND_WINDOW_TIMEZONE. */
    timeZone: z.string().refine(isValidTimeZone, 'must be an IANA time zone such as Asia/Bangkok').optional(),
    /** Spread openings over this long (default SEND_WINDOW_SPREAD). */
    spread: durationMs.optional(),
  })
  .strict()
  .refine((w) => w.from !== w.to, { message: 'from and to must differ (a window of no time never opens)', path: ['to'] });

export const fallbackSchema = z.union([
  z.string().transform((rule) => ({ rule, after: undefined as number | undefined })),
  z.object({
    /** The rule sent instead when this one ends without reaching the customer. */
    rule: z.string().min(1),
    /** Also fall back when the message is not confirmed delivered this long after sending (vendors that report delivery). */
    after: durationMs.refine((ms) => ms > 0, 'must be longer than 0').optional(),
  }).strict(),
]);

/** As the rest of the code sees a window spec from the routes file (time zone resolved per order later). */
export type RouteSendWindow = SendWindowSpec;

export function toRouteSendWindow(w: z.infer<typeof sendWindowSchema>): RouteSendWindow {
  return { fromMinute: parseClock(w.from)!, toMinute: parseClock(w.to)!, days: w.days ?? [], timeZone: w.timeZone, spreadMs: w.spread };
}

export interface ChainRule {
  id: string;
  index: number;
  enabled: boolean;
  fallbackOnly: boolean;
  fallback?: { rule: string; after?: number };
  reportsDelivery: boolean;
  vendor: string;
}

/**
 * Start-up checks of the fallback links, every problem naming the rules: unknown or disabled targets, cycles, a
 * target that would also be sent on its own, a target shared by two rules, `after` on a vendor that reports no
 * delivery.
 */
export function checkChains(rules: ChainRule[], reportingVendors: readonly string[]): string[] {
  const problems: string[] = [];
  const byId = new Map(rules.map((r) => [r.id, r]));
  const where = (r: ChainRule) => `rules[${r.index}] (${r.id})`;
  const reported = new Set<string>();
  for (const start of rules) {
    const path: string[] = [];
    let at: ChainRule | undefined = start;
    while (at?.fallback) {
      path.push(at.id);
      const nextId: string = at.fallback.rule;
      if (path.includes(nextId)) {
        const cycle = [...path.slice(path.indexOf(nextId)), nextId];
        const key = [...cycle.slice(0, -1)].sort().join(',');
        if (!reported.has(key)) problems.push(`${where(start)}.fallback: fallback cycle ${cycle.join(' → ')} (a chain must end)`);
        reported.add(key);
        break;
      }
      at = byId.get(nextId);
    }
  }
  const targetedBy = new Map<string, string>();
  for (const r of rules) {
    if (!r.fallback) continue;
    const target = byId.get(r.fallback.rule);
    if (!target) {
      problems.push(`${where(r)}.fallback.rule: no rule with id "${r.fallback.rule}"`);
    } else {
      if (r.enabled && !target.enabled) problems.push(`${where(r)}.fallback.rule: rule "${target.id}" is disabled (enabled: false)`);
      if (!target.fallbackOnly) {
        problems.push(`${where(target)}.fallbackOnly: must be true, because ${r.id} falls back to it (else it would also be sent on its own)`);
      }
      const other = targetedBy.get(target.id);
      if (other) problems.push(`${where(r)}.fallback.rule: "${target.id}" is already the fallback of ${other} (a rule can be the fallback of one rule only)`);
      targetedBy.set(target.id, r.id);
    }
    if (r.fallback.after !== undefined && !r.reportsDelivery) {
      problems.push(`${where(r)}.fallback.after: ${r.vendor} does not report delivery, so "not delivered within" cannot be known (vendors that do: ${reportingVendors.join(', ')})`);
    }
  }
  return problems;
}
