import { describe, expect, it } from 'vitest';
import { encodeQuery } from '../../src/vendors/twin24/correlation/analyse-client.js';
import { isResultPresent, statusMeaning } from '../../src/vendors/twin24/correlation/status.js';
import { coveringSpans, coveringWindows, twin24Instant } from '../../src/vendors/twin24/correlation/windows.js';
import { notificationId, toNotification } from '../../src/orders/handback.js';
import { signWebhook, verifyWebhook, webhookSigners } from '../../src/orders/webhook-signature.js';

const H = 3_600_000;

describe('statistics windows', () => {
  it('covers every instant, padded, each window at most the maximum span', () => {
    const t0 = Date.UTC(2026, 0, 1);
    const instants = [t0, t0 + 1_000, t0 + 5 * H, t0 + 7 * H, t0 + 30 * H, t0 + 2 * H];
    const windows = coveringWindows(instants, 6 * H, 60_000);
    for (const t of instants) expect(windows.some((w) => w.from < t && t < w.to)).toBe(true);
    for (const w of windows) expect(w.to - w.from).toBeLessThanOrEqual(6 * H);
    // A dense backlog is one window; a far outlier gets its own; a long run is chunked.
    expect(windows).toHaveLength(3);
    expect(coveringWindows([], 6 * H, 60_000)).toEqual([]);
    const backlog = Array.from({ length: 100 }, (_, i) => t0 + i * H);
    const chunks = coveringWindows(backlog, 6 * H, 60_000);
    expect(chunks.length).toBeGreaterThanOrEqual(17);
    for (const t of backlog) expect(chunks.some((w) => w.from <= t && t <= w.to)).toBe(true);
  });

  it('merges overlapping session spans and chunks long ones', () => {
    const spans = [{ from: 0, to: 10 }, { from: 5, to: 20 }, { from: 100, to: 350 }];
    const windows = coveringSpans(spans, 100);
    expect(windows[0]).toEqual({ from: 0, to: 20 });
    for (let t = 100; t <= 350; t++) expect(windows.some((w) => w.from <= t && t <= w.to)).toBe(true);
    for (const w of windows) expect(w.to - w.from).toBeLessThanOrEqual(100);
  });

  it('formats instants as Twin24 wants them, widened to whole seconds, and encodes + as %2B', () => {
    const at = Date.UTC(2023, 10, 22, 12, 0, 0, 500);
    expect(twin24Instant(at, 'from')).toBe('2023-11-22T12:00:00+00:00');
    expect(twin24Instant(at, 'to')).toBe('2023-11-22T12:00:01+00:00');
    expect(encodeQuery({ from: '2023-11-22T12:00:00+00:00', fields: 'id,providerMessageId,status' }))
      .toBe('from=2023-11-22T12%3A00%3A00%2B00%3A00&fields=id%2CproviderMessageId%2Cstatus');
  });
});

describe('Twin24 statuses', () => {
  it('maps the known statuses and keeps waiting on unknown ones', () => {
    expect(statusMeaning('DELIVERED')).toEqual({ kind: 'delivered' });
    expect(statusMeaning('UNDELIVERED')).toEqual({ kind: 'final', status: 'undelivered' });
    expect(statusMeaning('ERROR')).toEqual({ kind: 'final', status: 'error' });
    expect(statusMeaning('EXPIRED')).toEqual({ kind: 'final', status: 'expired' });
    for (const s of ['CREATED', 'PENDING', 'DELAYED', 'PAUSED', 'SOMETHING_NEW']) expect(statusMeaning(s)).toEqual({ kind: 'waiting' });
    // Statuses that imply delivery start the session lookup: READ, or an unknown one that carries a session id.
    expect(statusMeaning('READ', null)).toEqual({ kind: 'delivered' });
    expect(statusMeaning('SOMETHING_NEW', '15d2652c-ada6-4505-9dee-81ce77b528dc')).toEqual({ kind: 'delivered' });
    expect(statusMeaning('PENDING', '15d2652c-ada6-4505-9dee-81ce77b528dc')).toEqual({ kind: 'waiting' });
    expect(statusMeaning('', null)).toEqual({ kind: 'waiting' });
  });

  it('a result is the bot\'s answer only beyond the seed\'s initialVariables, or in TWIN24_RESULT_KEYS', () => {
    expect(isResultPresent(null)).toBe(false);
    expect(isResultPresent({})).toBe(false);
    expect(isResultPresent([])).toBe(false);
    expect(isResultPresent({ initialVariables: [] })).toBe(false);
    expect(isResultPresent({ initialVariables: [{ name: 'x' }] })).toBe(false);
    expect(isResultPresent({ nps: '', confirmation: null, initialVariables: [] })).toBe(false);
    // The seed's own answer.
    expect(isResultPresent({ nps: 'Тест', confirmation: 'Отказ', initialVariables: [] })).toBe(true);
    expect(isResultPresent({ nps: 'Тест', initialVariables: [] }, ['confirmation'])).toBe(false);
    expect(isResultPresent({ nps: 'Тест', confirmation: 'Отказ', initialVariables: [] }, ['confirmation'])).toBe(true);
    expect(isResultPresent({ score: 0 })).toBe(true);
  });
});

describe('hand-back payload', () => {
  it('one id per distinct change; retries differ by attempt', () => {
    const base = { deliveryId: 'wa.A%3A1', status: 'sent' as const };
    expect(notificationId('A:1', base)).toBe(notificationId('A:1', { ...base }));
    expect(notificationId('A:1', base)).not.toContain(':');
    expect(notificationId('A:1', { ...base, vendorStatus: 'PENDING' })).not.toBe(notificationId('A:1', base));
    expect(notificationId('A:1', { ...base, status: 'retrying', attempts: 1 })).not.toBe(notificationId('A:1', { ...base, status: 'retrying', attempts: 2 }));
    const n = toNotification('A:1', { ...base, vendor: 'twin24', ruleId: 'wa', status: 'correlated', chatId: 's', result: { nps: 'x' }, updatedAt: '2026-01-01T00:00:00.000Z' });
    expect(n).toMatchObject({ version: 1, type: 'order.notification', final: true, at: '2026-01-01T00:00:00.000Z', result: { nps: 'x' } });
  });

  it('signs by Standard Webhooks: id and timestamp signed with the body, old timestamps and other bodies refused, rotation', () => {
    const body = JSON.stringify({ a: 'ü' });
    const current = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');
    const previous = 'previous-secret-0123456789abcdef';
    const now = new Date();
    const headers = signWebhook(webhookSigners(`${current},${previous}`), 'evt_1', now, body);
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
    // A receiver holding either secret accepts it during the rotation.
    expect(() => verifyWebhook(current, Buffer.from(body), headers)).not.toThrow();
    expect(() => verifyWebhook(previous, body, headers)).not.toThrow();
    expect(() => verifyWebhook('some-other-secret-0123456789', body, headers)).toThrow(/signature/i);
    expect(() => verifyWebhook(current, `${body} `, headers)).toThrow(/signature/i);
    // Replay: the same request ten minutes later is refused, and a re-dated copy no longer matches its signature.
    const old = signWebhook(webhookSigners(current), 'evt_1', new Date(Date.now() - 10 * 60_000), body);
    expect(() => verifyWebhook(current, body, old)).toThrow(/too old/);
    expect(() => verifyWebhook(current, body, { ...old, 'webhook-timestamp': headers['webhook-timestamp']! })).toThrow(/signature/i);
    expect(() => verifyWebhook(current, body, { ...headers, 'webhook-id': 'evt_2' })).toThrow(/signature/i);
  });
});
