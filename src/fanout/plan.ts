import type { Route } from './route.js';
import type { OrderPaid } from '../events/order-paid.js';
import type { DeliveryJobData } from '../delivery/types.js';
import { deliveryId } from '../queues/job-ids.js';
import { resolveSendWindow } from '../delivery/send-window.js';
import { channelValue, vendorDefinition } from '../vendors/registry.js';
import { renderTemplate, TemplateError } from './template.js';
import { issuesText } from '../events/zod-issues.js';

/** What the fan-out decides for one rule of one order. */
export type RulePlan =
  | { kind: 'deliver'; route: Route; job: DeliveryJobData; delayMs: number }
  | { kind: 'skipped'; route: Route; reason: string }
  | { kind: 'rejected'; route: Route; reason: string };

/** Fields templates may use besides the event's own. */
function templateContext(event: OrderPaid): Record<string, unknown> {
  return {
    ...event,
    paidAtUnix: Math.floor(Date.parse(event.paidAt) / 1000),
    itemCount: event.items.reduce((n, i) => n + i.quantity, 0),
  };
}

/** Renders one rule for one event and validates the result against the vendor's payload schema. */
export function renderRule(route: Route, event: OrderPaid): { ok: true; payload: unknown } | { ok: false; reason: string } {
  const def = vendorDefinition(route.vendor);
  let rendered: unknown;
  try {
    rendered = renderTemplate(route.message, templateContext(event));
  } catch (e) {
    if (e instanceof TemplateError) return { ok: false, reason: e.message };
    throw e;
  }
  const addressed = def.address(rendered as Record<string, unknown>, event, route.channel);
  const result = def.payloadSchema.safeParse(addressed);
  if (!result.success) {
    const reason = issuesText(result.error, { prefix: 'message.', root: 'message' });
    return { ok: false, reason: `${reason} (${route.vendor} would refuse this message)` };
  }
  return { ok: true, payload: result.data };
}

function applies(route: Route, event: OrderPaid): string | undefined {
  const w = route.when;
  if (!w) return undefined;
  if (w.locales && !w.locales.some((l) => event.customer.locale === l || event.customer.locale.startsWith(`${l}-`))) {
    return `locale ${event.customer.locale} not in ${w.locales.join(', ')}`;
  }
  if (w.currencies && !w.currencies.includes(event.currency)) return `currency ${event.currency} not in ${w.currencies.join(', ')}`;
  if (w.minTotal !== undefined && event.total < w.minTotal) return `total ${event.total} below ${w.minTotal}`;
  return undefined;
}

/** Quiet-hours settings that are not in the routes file (SEND_WINDOW_TIMEZONE, SEND_WINDOW_SPREAD). */
export interface WindowDefaults { timeZone: string; spreadMs: number }
export const UTC_WINDOW_DEFAULTS: WindowDefaults = { timeZone: 'UTC', spreadMs: 0 };

/** One rule × this order. Pure. */
export function planRule(route: Route, event: OrderPaid, enabled: ReadonlySet<string>, now = new Date(), windows = UTC_WINDOW_DEFAULTS): RulePlan {
  const notApplicable = applies(route, event);
  if (notApplicable) return { kind: 'skipped', route, reason: notApplicable };
  if (channelValue(event, route.channel) === undefined && !vendorDefinition(route.vendor).reachableWithoutChannel?.(route.message as Record<string, unknown>)) {
    return { kind: 'skipped', route, reason: `customer has no ${route.channel} channel` };
  }
  if (!enabled.has(route.vendor)) return { kind: 'skipped', route, reason: `vendor ${route.vendor} is disabled (no credentials)` };
  const rendered = renderRule(route, event);
  if (!rendered.ok) return { kind: 'rejected', route, reason: rendered.reason };
  const job: DeliveryJobData = {
    deliveryId: deliveryId(event.orderId, route.id),
    orderId: event.orderId,
    ruleId: route.id,
    vendor: route.vendor,
    payload: rendered.payload,
    createdAt: now.toISOString(),
  };
  if (route.onUnknownOutcome === 'hold') job.onUnknownOutcome = 'hold';
  if (route.sendWindow) job.sendWindow = resolveSendWindow(route.sendWindow, event.customer.timeZone, windows);
  return { kind: 'deliver', route, delayMs: route.delayMs ?? 0, job };
}

/**
 * Every rule × this order → one plan each. Pure: no Redis, so it is easy to test and reuse (CLI dry runs).
 * Only enabled vendors get deliveries; a rule for a disabled vendor is skipped with the reason. Rules that are only
 * fallbacks are planned with their chain (fanout/chains.ts), never here.
 */
export function planFanout(event: OrderPaid, routes: Route[], enabled: ReadonlySet<string>, now = new Date(), windows = UTC_WINDOW_DEFAULTS): RulePlan[] {
  return routes.filter((r) => !r.fallbackOnly).map((route) => planRule(route, event, enabled, now, windows));
}
