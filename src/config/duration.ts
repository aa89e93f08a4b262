import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** Parses `90s`, `2h`, `7d`, `250ms` or a bare number of milliseconds. Returns undefined when malformed. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  const trimmed = input.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const m = DURATION.exec(trimmed);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

/** A zod field for durations in config: yields milliseconds. */
export const durationMs = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a duration (use e.g. 250ms, 90s, 5m, 2h, 7d)` });
    return z.NEVER;
  }
  return ms;
});

/** `10/1s` → { max: 10, durationMs: 1000 }: a vendor request budget. */
export const rateLimit = z.string().transform((value, ctx) => {
  const [max, per] = value.split('/');
  const maxN = Number(max);
  const ms = per === undefined ? undefined : parseDuration(per);
  if (!Number.isInteger(maxN) || maxN < 1 || ms === undefined || ms < 1) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a rate (use requests/duration, e.g. 10/1s or 600/1m)` });
    return z.NEVER;
  }
  return { max: maxN, durationMs: ms };
});
export type RateLimit = { max: number; durationMs: number };
