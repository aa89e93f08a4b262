import type { CustomerChannels, OrderPaid } from '../../src/events/order-paid.js';

/**
 * Valid order.paid events for load and fault tests. Order n gets recipients that are unique to it (Metabot lead
 * n + 1, Messenger psid `psid-<tag>-<n>`), so what a vendor received can be counted per recipient.
 */
export function testOrder(tag: string, n: number, channels: Array<keyof CustomerChannels> = ['metabotLeadId']): OrderPaid {
  const all: CustomerChannels = {
    metabotLeadId: n + 1,
    messenger: { psid: `psid-${tag}-${n}` },
    lineUserId: `U-${tag}-${n}`,
    facebookUserId: `fb-${tag}-${n}`,
    whatsappPhone: `+66 81 ${String(100_000 + n).padStart(7, '0')}`,
  };
  return {
    event: 'order.paid',
    orderId: `${tag}-${n}`,
    paidAt: '2026-11-21T10:15:00+07:00',
    currency: 'THB',
    total: 100 + n,
    items: [{ name: 'Jasmine rice 5 kg', quantity: 1, unitPrice: 100 + n }],
    customer: {
      name: `Customer ${n}`,
      locale: 'th-TH',
      channels: Object.fromEntries(channels.map((c) => [c, all[c]])) as CustomerChannels,
    },
  };
}

/** Orders first..first+count-1; give each batch of a test its own range so recipients never repeat. */
export function testOrders(tag: string, count: number, channels?: Array<keyof CustomerChannels>, first = 0): OrderPaid[] {
  return Array.from({ length: count }, (_, i) => testOrder(tag, first + i, channels));
}

/** How many accepted requests each recipient got, and the recipients that got more than one. */
export function countPerRecipient(recipients: Array<string | number | undefined>): { counts: Map<string, number>; duplicates: number } {
  const counts = new Map<string, number>();
  for (const r of recipients) if (r !== undefined) counts.set(String(r), (counts.get(String(r)) ?? 0) + 1);
  let duplicates = 0;
  for (const c of counts.values()) duplicates += c - 1;
  return { counts, duplicates };
}
