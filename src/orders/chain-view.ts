import type { DeliveryRecord } from './record.js';

/** A fallback chain of one order as a person reads it: the links tried, why each next one fired, who reached. */
export interface ChainSummary {
  head: string;
  /** reached: a link reached the customer; exhausted: every link ended without; in_flight: still deciding. */
  state: 'in_flight' | 'reached' | 'exhausted';
  /** The rule whose message reached the customer. */
  reached?: string;
  links: Array<{
    link: number;
    rule: string;
    vendor: string;
    status: DeliveryRecord['status'];
    firedBecause?: string;
    fallbackTo?: string;
    lateDelivery?: boolean;
  }>;
}

const ENDED_WITHOUT_REACHING = new Set(['skipped', 'rejected', 'failed', 'undelivered', 'error', 'expired', 'timed_out', 'cancelled']);

/** Pure: derived from the deliveries' chain attributes, so it is always in step with the record. */
export function summariseChains(deliveries: DeliveryRecord[]): ChainSummary[] {
  const byHead = new Map<string, DeliveryRecord[]>();
  for (const d of deliveries) {
    if (!d.chain) continue;
    byHead.set(d.chain.head, [...(byHead.get(d.chain.head) ?? []), d]);
  }
  return [...byHead].map(([head, members]) => {
    const links = members.sort((a, b) => a.chain!.link - b.chain!.link);
    const reached = links.find((d) => d.reachedCustomer);
    // Links skipped or rejected at fan-out were never tried; the chain's fate is the last link that was.
    const last = links.filter((d) => d.status !== 'skipped' && d.status !== 'rejected').at(-1);
    let state: ChainSummary['state'] = 'in_flight';
    if (reached) state = 'reached';
    else if (!last) state = 'exhausted';
    // A failed link with a planned next one always fires it: in flight until that one is recorded and ends too.
    else if (ENDED_WITHOUT_REACHING.has(last.status) && !last.chain!.next) state = 'exhausted';
    return {
      head,
      state,
      ...(reached ? { reached: reached.ruleId } : {}),
      links: links.map((d) => ({
        link: d.chain!.link, rule: d.ruleId, vendor: d.vendor, status: d.status,
        ...(d.chain!.firedBecause ? { firedBecause: d.chain!.firedBecause } : {}),
        ...(d.fallbackTo ? { fallbackTo: d.fallbackTo } : {}),
        ...(d.lateDelivery ? { lateDelivery: true } : {}),
      })),
    };
  });
}

/** One line: the links tried in order, which one reached the customer, and why each next one fired. */
export function describeChain(c: ChainSummary): string {
  const links = c.links.map((l) => `${l.rule} (${l.vendor}: ${l.status}${l.lateDelivery ? ', delivered late' : ''})`).join(' → ');
  const why = c.links.filter((l) => l.link > 0 && l.firedBecause).map((l) => `${l.rule} because ${l.firedBecause}`).join('; ');
  const end = c.state === 'reached' ? `reached the customer: ${c.reached}` : c.state === 'exhausted' ? 'no link reached the customer' : 'still deciding';
  return `chain ${c.head}: ${links}; ${end}${why ? ` [${why}]` : ''}`;
}
