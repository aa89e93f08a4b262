import type { HistoryEntry } from '../orders/history.js';
import type { DeliveryRecord, OrderRecord } from '../orders/record.js';
import type { HealthSnapshot, VendorHealth } from './vendor-health.js';

/**
 * The order timeline page as one server-rendered HTML document: no script, no build step, inline CSS that fits a
 * phone. Every value goes through esc() — order ids, vendor texts and bot results are data from outside.
 */

export interface TimelineView {
  query?: string;
  order?: OrderRecord;
  history: HistoryEntry[];
  health: HealthSnapshot;
  /** Shown instead of the order (unknown order id, bad input). */
  notice?: string;
}

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1d2430;background:#f4f6f9}
header{background:#1d2430;color:#fff;padding:12px 16px}header h1{font-size:17px;margin:0 0 8px}
form{display:flex;gap:8px;flex-wrap:wrap}input{flex:1 1 200px;min-width:0;padding:8px;font:inherit;border:0;border-radius:6px}
button{padding:8px 14px;font:inherit;border:0;border-radius:6px;background:#3b82f6;color:#fff}
main{padding:12px 16px;max-width:1100px;margin:auto}h2{font-size:16px;margin:18px 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:10px}
.card{background:#fff;border-radius:8px;padding:10px 12px;box-shadow:0 1px 2px #0002;min-width:0;overflow-wrap:anywhere}
.card h3{font-size:15px;margin:0 0 6px;display:flex;justify-content:space-between;gap:6px;flex-wrap:wrap}
.muted{color:#5b6575;font-size:13px}.bars{display:flex;align-items:flex-end;gap:2px;height:28px;margin:4px 0}
.bars span{flex:1;background:#22c55e;min-height:1px}.bars.bad span{background:#ef4444}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;background:#e5e7eb}
.sent,.correlated{background:#dcfce7}.failed,.rejected,.undelivered,.error,.expired,.timed_out{background:#fee2e2}
.retrying,.queued{background:#fef9c3}.paused{background:#fee2e2}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:6px 0}dt{color:#5b6575}dd{margin:0;min-width:0}
ol{list-style:none;padding:0;margin:8px 0 0;border-left:2px solid #cbd5e1}li{padding:2px 0 6px 10px}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f1f5f9;padding:6px;border-radius:6px;margin:4px 0;font-size:12px}
.notice{background:#fff7ed;border-radius:8px;padding:10px 12px}`;

export function renderTimeline(view: TimelineView): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${view.query ? `${esc(view.query)} · ` : ''}order timeline · order-notify</title>
<style>${CSS}</style></head><body>
<header><h1>order-notify · order timeline</h1>
<form method="get" action="" role="search"><input name="order" aria-label="order id" placeholder="order id, e.g. A-10001" value="${esc(view.query)}" maxlength="200" required>
<button type="submit">Show</button></form></header>
<main>
${view.notice ? `<p class="notice">${esc(view.notice)}</p>` : ''}
${view.order ? orderSection(view.order, view.history) : ''}
<h2>Vendor health <span class="muted">(${esc(view.health.at.slice(11, 19))} UTC, per minute over the last ${view.health.vendors[0]?.sentPerMinute.length ?? 0} min)</span></h2>
<div class="grid">${view.health.vendors.map(vendorCard).join('')}${correlatorCard(view.health)}</div>
</main></body></html>`;
}

function vendorCard(v: VendorHealth): string {
  const last = (list: number[]) => list[list.length - 1] ?? 0;
  const bars = (list: number[], cls: string) => {
    const max = Math.max(1, ...list);
    return `<div class="bars ${cls}" aria-hidden="true">${list.map((n) => `<span style="height:${Math.round((n / max) * 100)}%"></span>`).join('')}</div>`;
  };
  return `<section class="card" data-vendor="${esc(v.vendor)}"><h3>${esc(v.vendor)}${v.pausedForMs > 0 ? `<span class="badge paused">429 pause ${Math.ceil(v.pausedForMs / 1000)} s</span>` : ''}</h3>
<dl><dt>sent</dt><dd>${last(v.sentPerMinute)}/min · ${sum(v.sentPerMinute)} in ${v.sentPerMinute.length} min</dd></dl>${bars(v.sentPerMinute, 'ok')}
<dl><dt>failed</dt><dd>${last(v.failedPerMinute)}/min · ${sum(v.failedPerMinute)} in ${v.failedPerMinute.length} min</dd></dl>${bars(v.failedPerMinute, 'bad')}
<dl><dt>queue</dt><dd>${v.depth.waiting} waiting · ${v.depth.active} active · ${v.depth.delayed} delayed · ${v.depth.failed} failed</dd>
<dt>429 pauses</dt><dd>${v.pausesLastHour} in the last hour</dd></dl></section>`;
}

function correlatorCard(h: HealthSnapshot): string {
  const lag = h.correlator.oldestPendingAgeMs;
  return `<section class="card" data-vendor="twin24-correlator"><h3>twin24 correlator</h3>
<dl><dt>pending</dt><dd>${h.correlator.pending} messages</dd>
<dt>lag</dt><dd>${lag === undefined ? 'none waiting' : `oldest waiting ${duration(lag)}`}</dd></dl></section>`;
}

function orderSection(order: OrderRecord, history: HistoryEntry[]): string {
  const start = Date.parse(order.receivedAt ?? order.deliveries[0]?.createdAt ?? '');
  return `<h2>Order ${esc(order.orderId)} <span class="muted">received ${esc(order.receivedAt ?? 'unknown')}</span></h2>
<div class="grid">${order.deliveries.map((d) => deliveryCard(d, history.filter((e) => e.deliveryId === d.deliveryId), start)).join('')}</div>
${order.deliveries.length ? '' : '<p class="notice">No deliveries recorded for this order yet.</p>'}`;
}

function deliveryCard(d: DeliveryRecord, history: HistoryEntry[], start: number): string {
  const rows: Array<[string, unknown]> = [
    ['rule', d.ruleId], ['vendor id', d.vendorMessageId], ['vendor status', d.vendorStatus], ['chat session', d.chatId],
    ['attempts', d.attempts], ['reason', d.reason], ['sent', d.sentAt], ['final', d.finalAt],
  ];
  return `<section class="card delivery" data-delivery="${esc(d.deliveryId)}"><h3>${esc(d.vendor)} <span class="badge ${esc(d.status)}">${esc(d.status)}</span></h3>
<dl>${rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
${d.result === undefined ? '' : `<div class="muted">bot result</div><pre>${esc(JSON.stringify(d.result, null, 2))}</pre>`}
<ol aria-label="status history">${history.map((e) => historyItem(e, start)).join('') || '<li class="muted">no history recorded (older than this page)</li>'}</ol></section>`;
}

function historyItem(e: HistoryEntry, start: number): string {
  const offset = Number.isFinite(start) ? ` <span class="muted">+${duration(Date.parse(e.at) - start)}</span>` : '';
  const details = [
    e.vendorStatus && `vendor ${e.vendorStatus}`, e.attempts !== undefined && `attempt ${e.attempts}`,
    e.vendorMessageId && `id ${e.vendorMessageId}`, e.chatId && `session ${e.chatId}`, e.result && 'bot result',
  ].filter(Boolean);
  return `<li><span class="badge ${esc(e.status)}">${esc(e.status)}</span> <span class="muted">${esc(e.at.slice(11, 23))}</span>${offset}
${details.length ? `<div class="muted">${esc(details.join(' · '))}</div>` : ''}${e.reason ? `<div>${esc(e.reason)}</div>` : ''}</li>`;
}

function sum(list: number[]): number {
  return list.reduce((a, b) => a + b, 0);
}

function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0 s';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}
