import { createHash } from 'node:crypto';
import { DateTime, IANAZone } from 'luxon';

/**
 * Quiet hours: a rule's send window in a time zone. Wall-clock arithmetic across DST changes is luxon's (already in
 * the dependency tree through BullMQ's cron parser); this module only decides which instants are inside.
 *
 * A window opens on each allowed day at `from` and closes at the next `to` (the next day when `to` <= `from`, so
 * 22:00-06:00 crosses midnight and belongs to the day it opens). A wall time a DST change skips opens/closes at the
 * first instant after the gap; a wall time that happens twice counts at its first occurrence.
 */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface SendWindow {
  /** Minutes after local midnight. */
  fromMinute: number;
  toMinute: number;
  /** Days the window opens on; empty = every day. */
  days: Weekday[];
  timeZone: string;
  /** Openings are spread over this long so a backlog does not all go out at the first second. */
  spreadMs: number;
}

const DAY_MS = 86_400_000;

export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** "HH:MM" → minutes after midnight, or undefined. */
export function parseClock(text: string): number | undefined {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

export function formatClock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

/** The earliest instant of local date `day` whose wall clock is at or after `minute` (handles DST gaps and repeats). */
function firstInstantAt(day: DateTime, minute: number, zone: IANAZone): number {
  const local = Date.UTC(day.year, day.month - 1, day.day, Math.floor(minute / 60), minute % 60);
  // Offsets well before and after: a transition near this wall time lies between them.
  const offsets = [...new Set([zone.offset(local - DAY_MS), zone.offset(local + DAY_MS), zone.offset(local)])];
  const valid = offsets.map((o) => local - o * 60_000).filter((t) => zone.offset(t) * 60_000 === local - t);
  if (valid.length) return Math.min(...valid);
  // Skipped by a DST gap: the first instant after the gap is where the offset changes.
  let lo = local - Math.max(...offsets) * 60_000;
  let hi = local - Math.min(...offsets) * 60_000;
  const before = zone.offset(lo);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (zone.offset(mid) === before) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** The window instances opening on the local days around `at`: [open, close) instants. */
function instancesAround(at: number, w: SendWindow, daysAhead: number): Array<{ open: number; close: number }> {
  const zone = IANAZone.create(w.timeZone);
  const today = DateTime.fromMillis(at, { zone }).startOf('day');
  const out: Array<{ open: number; close: number }> = [];
  for (let i = -1; i <= daysAhead; i++) {
    const day = today.plus({ days: i });
    if (w.days.length && !w.days.includes(WEEKDAYS[day.weekday - 1]!)) continue;
    const open = firstInstantAt(day, w.fromMinute, zone);
    const closeDay = w.toMinute <= w.fromMinute ? day.plus({ days: 1 }) : day;
    out.push({ open, close: firstInstantAt(closeDay, w.toMinute, zone) });
  }
  return out;
}

export function isOpen(at: number, w: SendWindow): boolean {
  return instancesAround(at, w, 0).some((i) => i.open <= at && at < i.close);
}

/** `at` when the window is open, else the instant it next opens (days of week considered). */
export function nextOpening(at: number, w: SendWindow): { open: number; close: number } | undefined {
  const instances = instancesAround(at, w, 8);
  const current = instances.find((i) => i.open <= at && at < i.close);
  if (current) return { open: at, close: current.close };
  return instances.filter((i) => i.open > at).sort((a, b) => a.open - b.open)[0];
}

/** A stable offset in [0, spreadMs) per delivery: the same delivery always gets the same slot. */
export function spreadOffset(deliveryId: string, spreadMs: number): number {
  if (spreadMs <= 0) return 0;
  return createHash('sha1').update(deliveryId).digest().readUInt32BE(0) % spreadMs;
}

/**
 * When a delivery due at `due` may go out: undefined when the window is open then, else the opening plus this
 * delivery's slot in the spread (kept inside the window).
 */
export function heldUntil(due: number, w: SendWindow, deliveryId: string): number | undefined {
  if (isOpen(due, w)) return undefined;
  const next = nextOpening(due, w);
  if (!next) return undefined; // no allowed day (validation prevents this)
  return Math.min(next.open + spreadOffset(deliveryId, w.spreadMs), next.close - 1_000);
}

/** A rule's window spec as the routes file gives it (the zone may be left to the order or the default). */
export interface SendWindowSpec {
  fromMinute: number;
  toMinute: number;
  days: Weekday[];
  timeZone?: string;
  spreadMs?: number;
}

/** The zone: the customer's, else the rule's, else the configured default. */
export function resolveSendWindow(
  spec: SendWindowSpec, customerTimeZone: string | undefined, defaults: { timeZone: string; spreadMs: number },
): SendWindow {
  return {
    fromMinute: spec.fromMinute, toMinute: spec.toMinute, days: spec.days,
    timeZone: customerTimeZone ?? spec.timeZone ?? defaults.timeZone,
    spreadMs: spec.spreadMs ?? defaults.spreadMs,
  };
}

/**
 * The queue-side delay of a delivery: its own `delay`, then quiet hours. `now` is the caller's clock; the answer is
 * relative, so BullMQ's real-time delay lands on the right instant. scheduledFor is set when quiet hours held it.
 */
export function queueDelay(deliveryId: string, window: SendWindow | undefined, delayMs: number, now: number): { delayMs: number; scheduledFor?: string } {
  const due = now + delayMs;
  const held = window ? heldUntil(due, window, deliveryId) : undefined;
  if (held === undefined) return { delayMs };
  return { delayMs: held - now, scheduledFor: new Date(held).toISOString() };
}
