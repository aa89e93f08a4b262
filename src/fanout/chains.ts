import type { Route } from './routes.js';
import type { OrderPaid } from '../events/order-paid.js';
import type { ChainPosition } from '../orders/record.js';
import { vendorDefinition } from '../vendors/registry.js';
import { planRule, type RulePlan, type WindowDefaults } from './plan.js';

/** One link of a planned chain: its plan for this order and where it stands. */
export interface ChainLinkPlan {
  plan: RulePlan;
  position: ChainPosition;
}

/** A link that can be sent, as the chain store keeps it until (and unless) it fires. */
export interface ChainStep {
  step: number;
  plan: Extract<RulePlan, { kind: 'deliver' }>;
  position: ChainPosition;
  /** The vendor reports delivery later (sent is not yet "reached"). */
  reports: boolean;
  /** Fall back when not confirmed delivered this long after sending. */
  afterMs?: number;
}

export interface ChainPlan {
  head: string;
  /** Every link, in order (skipped and rejected ones too: they explain why a later one went first). */
  links: ChainLinkPlan[];
  /** The links that can be sent; the first goes out now, the others only if the one before ends without reaching. */
  steps: ChainStep[];
}

/**
 * For each rule that has a fallback and applies to this order: the whole chain, planned now from the same event and
 * time as the rest of the fan-out (so a fallback fired hours later sends what the order said, and a retried
 * fan-out plans the same). A chain applies when its head does: a head skipped for this order (filters, no such
 * channel, vendor disabled) skips the chain; a head whose message the vendor would refuse (rejected) counts as
 * failed, so the next link goes at once. A later link the customer cannot get is passed over.
 */
export function planChains(event: OrderPaid, headPlans: RulePlan[], routes: Route[], enabled: ReadonlySet<string>, now: Date, windows: WindowDefaults): ChainPlan[] {
  const byId = new Map(routes.map((r) => [r.id, r]));
  const chains: ChainPlan[] = [];
  for (const headPlan of headPlans) {
    const head = headPlan.route;
    if (!head.fallback || head.fallbackOnly) continue;
    if (headPlan.kind === 'skipped') continue;
    const plans: RulePlan[] = [headPlan];
    for (let r = byId.get(head.fallback.rule); r; r = r.fallback ? byId.get(r.fallback.rule) : undefined) {
      if (plans.some((p) => p.route.id === r!.id)) break; // cycles are refused at start-up; belt and braces
      plans.push(planRule(r, event, enabled, now, windows));
    }
    const sendable = plans.map((p, i) => ({ p, i })).filter(({ p }) => p.kind === 'deliver');
    const links: ChainLinkPlan[] = plans.map((plan, link) => {
      const next = sendable.find(({ i }) => i > link);
      const position: ChainPosition = { head: head.id, link };
      if (next && plan.kind === 'deliver') position.next = next.p.route.id;
      if (link > 0 && plan.kind === 'deliver' && sendable[0]?.i === link) {
        // The first link that can be sent is not the head: the head's message was refused (rejected).
        const first = plans[0]!;
        position.firedBecause = `${first.route.id}: ${first.kind}${'reason' in first ? ` - ${first.reason}` : ''}`;
      }
      return { plan, position };
    });
    const steps: ChainStep[] = sendable.map(({ p, i }, step) => {
      const route = p.route;
      return {
        step,
        plan: p as Extract<RulePlan, { kind: 'deliver' }>,
        position: links[i]!.position,
        reports: vendorDefinition(route.vendor).reportsDelivery === true,
        afterMs: route.fallback?.afterMs,
      };
    });
    for (const s of steps) s.plan.job.chain = { head: head.id, link: s.position.link, step: s.step };
    chains.push({ head: head.id, links, steps });
  }
  return chains;
}
