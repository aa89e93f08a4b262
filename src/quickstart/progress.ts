import { formatTable } from '../cli/table.js';
import { FINAL_STATUSES, type DeliveryRecord, type OrderRecord } from '../orders/record.js';
import { describeChain } from '../orders/chain-view.js';

/** Vendors whose story ends when the vendor accepted the message; Twin24's goes on until correlation. */
const CORRELATED_VENDORS = new Set(['twin24']);

export interface VendorTally { queued: number; retrying: number; sent: number; failed: number; correlated: number; other: number }

export function isDone(d: DeliveryRecord): boolean {
  return FINAL_STATUSES.has(d.status) || (d.status === 'sent' && !CORRELATED_VENDORS.has(d.vendor));
}

/** Counts deliveries per vendor (skipped rules are not deliveries and are left out). */
export function tally(orders: OrderRecord[]): Map<string, VendorTally> {
  const out = new Map<string, VendorTally>();
  for (const d of orders.flatMap((o) => o.deliveries)) {
    if (d.status === 'skipped') continue;
    const t = out.get(d.vendor) ?? { queued: 0, retrying: 0, sent: 0, failed: 0, correlated: 0, other: 0 };
    if (d.status === 'queued' || d.status === 'scheduled') t.queued++;
    else if (d.status === 'retrying') t.retrying++;
    else if (d.status === 'sent') t.sent++;
    else if (d.status === 'failed' || d.status === 'rejected') t.failed++;
    else if (d.status === 'correlated') t.correlated++;
    else t.other++;
    out.set(d.vendor, t);
  }
  return out;
}

/** Everything settled: every expected order fanned out, every delivery at the end of its story, no fallback pending. */
export function settled(orders: Array<OrderRecord | undefined>): boolean {
  return orders.every((o) => o !== undefined && o.deliveries.length > 0 && o.deliveries.every(isDone)
    && (o.chains ?? []).every((c) => c.state !== 'in_flight'));
}

/** The chains worth a line in the summary: a fallback was tried, or nothing reached the customer. */
export function renderChains(orders: OrderRecord[]): string[] {
  const eventful = (c: NonNullable<OrderRecord['chains']>[number]) =>
    c.state !== 'reached' || c.links.some((l) => l.link > 0 && l.status !== 'skipped' && l.status !== 'rejected');
  return orders.flatMap((o) => (o.chains ?? []).filter(eventful).map((c) => `${o.orderId} ${describeChain(c)}`));
}

export function renderProgress(orders: OrderRecord[]): string {
  const parts = [...tally(orders)].sort(([a], [b]) => a.localeCompare(b)).map(([vendor, t]) => {
    const counts = [`${t.queued} queued`, `${t.sent} sent`, `${t.retrying} retrying`, `${t.failed} failed`];
    if (CORRELATED_VENDORS.has(vendor)) counts.push(`${t.correlated} correlated`);
    if (t.other) counts.push(`${t.other} closed`);
    return `${vendor}: ${counts.join(', ')}`;
  });
  return parts.join(' | ');
}

/**
 * One row per delivery: the seed's table (message id, chat id, result) for Twin24, the status for the rest.
 * Rules that did not apply (no such channel) are counted, not listed.
 */
export function renderSummary(orders: OrderRecord[]): string {
  const sorted = [...orders].sort((a, b) => a.orderId.localeCompare(b.orderId));
  const skipped = sorted.flatMap((o) => o.deliveries).filter((d) => d.status === 'skipped').length;
  const rows = sorted.flatMap((o) => o.deliveries.filter((d) => d.status !== 'skipped').map((d) => ({
    order: o.orderId, rule: d.ruleId, vendor: d.vendor, status: d.status,
    messageId: d.vendorMessageId, chatId: d.chatId, result: d.result ?? d.reason ?? (d.scheduledFor ? `quiet hours: scheduled for ${d.scheduledFor}` : undefined),
  })));
  return formatTable(rows, [
    { key: 'order', title: 'ORDER' }, { key: 'rule', title: 'RULE' }, { key: 'vendor', title: 'VENDOR' },
    { key: 'status', title: 'STATUS' }, { key: 'messageId', title: 'MESSAGE ID', max: 36 },
    { key: 'chatId', title: 'TWIN24 CHAT ID', max: 36 }, { key: 'result', title: 'RESULT', max: 60 },
  ]) + (skipped ? `\n(${skipped} rules did not apply: the customer has no such channel)` : '')
    + renderChains(sorted).map((line) => `\nFALLBACK ${line}`).join('');
}
