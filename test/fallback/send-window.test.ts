import { describe, expect, it } from 'vitest';
import { heldUntil, isOpen, nextOpening, queueDelay, spreadOffset, type SendWindow } from '../../src/delivery/send-window.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const window = (from: string, to: string, timeZone: string, days: SendWindow['days'] = []): SendWindow => {
  const m = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3));
  return { fromMinute: m(from), toMinute: m(to), days, timeZone, spreadMs: 0 };
};

describe('send window arithmetic', () => {
  it('09:00-21:00 in Bangkok (UTC+7, no DST): open, closed, next opening', () => {
    const w = window('09:00', '21:00', 'Asia/Bangkok');
    expect(isOpen(at('2026-11-21T02:00:00Z'), w)).toBe(true); // 09:00 local
    expect(isOpen(at('2026-11-21T01:59:59Z'), w)).toBe(false); // 08:59:59
    expect(isOpen(at('2026-11-21T14:00:00Z'), w)).toBe(false); // 21:00: closes at to
    expect(iso(nextOpening(at('2026-11-21T15:30:00Z'), w)?.open)).toBe('2026-11-22T02:00:00.000Z'); // 22:30 → tomorrow 09:00
    expect(iso(heldUntil(at('2026-11-21T01:00:00Z'), w, 'd'))).toBe('2026-11-21T02:00:00.000Z');
    expect(heldUntil(at('2026-11-21T05:00:00Z'), w, 'd')).toBeUndefined();
  });

  it('a window crossing midnight belongs to the day it opens (days of week)', () => {
    // 22:00-06:00 on Fridays only, UTC.
    const w = window('22:00', '06:00', 'UTC', ['fri']);
    expect(isOpen(at('2026-11-27T23:00:00Z'), w)).toBe(true); // Fri 23:00
    expect(isOpen(at('2026-11-28T05:59:00Z'), w)).toBe(true); // Sat 05:59, still Friday's window
    expect(isOpen(at('2026-11-28T06:00:00Z'), w)).toBe(false);
    expect(isOpen(at('2026-11-28T23:00:00Z'), w)).toBe(false); // Sat 23:00: Saturday has no window
    expect(iso(nextOpening(at('2026-11-28T06:00:00Z'), w)?.open)).toBe('2026-12-04T22:00:00.000Z'); // next Friday
  });

  it('weekdays only: Saturday evening waits until Monday 09:00 in the zone', () => {
    const w = window('09:00', '18:00', 'Europe/Paris', ['mon', 'tue', 'wed', 'thu', 'fri']);
    expect(iso(heldUntil(at('2026-11-28T17:00:00Z'), w, 'd'))).toBe('2026-11-30T08:00:00.000Z');
  });

  it('spring forward in Berlin: held overnight across the change, opening at the right UTC instant', () => {
    // Europe/Berlin moves from +01:00 to +02:00 at 2026-03-29 01:00Z (02:00 → 03:00 local).
    const w = window('09:00', '21:00', 'Europe/Berlin');
    // Saturday 21:30 local (+01:00) → Sunday 09:00 local (+02:00) = 07:00Z: 10 h 30 min later, not 11 h 30.
    expect(iso(heldUntil(at('2026-03-28T20:30:00Z'), w, 'd'))).toBe('2026-03-29T07:00:00.000Z');
  });

  it('a window opening inside the skipped hour opens when the clocks jump', () => {
    const w = window('02:30', '06:00', 'Europe/Berlin');
    // 02:30 does not exist on 2026-03-29 in Berlin: the first instant at or after it is 03:00 local = 01:00Z.
    expect(iso(nextOpening(at('2026-03-28T23:00:00Z'), w)?.open)).toBe('2026-03-29T01:00:00.000Z');
    expect(isOpen(at('2026-03-29T00:59:59Z'), w)).toBe(false); // 01:59:59 local
    expect(isOpen(at('2026-03-29T01:00:00Z'), w)).toBe(true); // 03:00 local
  });

  it('a window crossing midnight on the night clocks fall back closes at the first of the repeated times', () => {
    // Europe/Berlin 2026-10-25: 03:00 (+02:00) → 02:00 (+01:00) at 01:00Z; 02:30 local happens twice.
    const w = window('22:00', '02:30', 'Europe/Berlin');
    expect(isOpen(at('2026-10-24T20:00:00Z'), w)).toBe(true); // 22:00 (+02:00)
    expect(isOpen(at('2026-10-25T00:29:00Z'), w)).toBe(true); // 02:29 first time
    expect(isOpen(at('2026-10-25T00:30:00Z'), w)).toBe(false); // 02:30 first time: closed
    expect(isOpen(at('2026-10-25T01:15:00Z'), w)).toBe(false); // 02:15 the second time: still closed
    // 23:00 Saturday +02:00 → the window lasted 5 h 30 min of real time on that night (22:00 → 02:30 first)
    expect(iso(nextOpening(at('2026-10-25T01:15:00Z'), w)?.open)).toBe('2026-10-25T21:00:00.000Z'); // 22:00 (+01:00)
  });

  it('New York spring forward: a night window 20:00-08:00 holds a 09:00 message until 20:00 (DST-correct UTC)', () => {
    // America/New_York moves to -04:00 at 2026-03-08 07:00Z.
    const w = window('20:00', '08:00', 'America/New_York');
    expect(isOpen(at('2026-03-08T11:59:00Z'), w)).toBe(true); // 07:59 EDT, Saturday's window
    expect(isOpen(at('2026-03-08T12:00:00Z'), w)).toBe(false); // 08:00 EDT
    expect(iso(heldUntil(at('2026-03-08T13:00:00Z'), w, 'd'))).toBe('2026-03-09T00:00:00.000Z'); // 20:00 EDT
  });

  it('spreads openings per delivery, stably, inside the window', () => {
    const w = { ...window('09:00', '21:00', 'Asia/Bangkok'), spreadMs: 15 * 60_000 };
    const ids = Array.from({ length: 200 }, (_, i) => `rule.ORD-${i}`);
    const times = ids.map((id) => heldUntil(at('2026-11-21T01:00:00Z'), w, id)!);
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(at('2026-11-21T02:00:00Z'));
      expect(t).toBeLessThan(at('2026-11-21T02:15:00Z'));
    }
    expect(new Set(times.map((t) => Math.floor(t / 60_000))).size).toBeGreaterThan(10); // not all in one minute
    expect(heldUntil(at('2026-11-21T01:00:00Z'), w, ids[7]!)).toBe(times[7]); // same delivery, same slot
    expect(spreadOffset('x', 0)).toBe(0);
  });

  it('queueDelay adds the rule delay first, then quiet hours', () => {
    const w = window('09:00', '21:00', 'Asia/Bangkok');
    const now = at('2026-11-21T13:59:00Z'); // 20:59 local; a 2-minute delay lands at 21:01 → held
    expect(queueDelay('d', w, 120_000, now)).toEqual({ delayMs: at('2026-11-22T02:00:00Z') - now, scheduledFor: '2026-11-22T02:00:00.000Z' });
    expect(queueDelay('d', w, 30_000, now)).toEqual({ delayMs: 30_000 });
    expect(queueDelay('d', undefined, 5, now)).toEqual({ delayMs: 5 });
  });
});
