import { isLocalRunAt } from './payload.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // h23, not hour12:false: the latter prints midnight as "24" in some ICU versions.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23',
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** A moment as the wall-clock time of `timeZone`, in Metabot's "YYYY-MM-DD hh:mm:ss" (seconds truncated). */
export function formatPlatformTime(date: Date, timeZone: string): string {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(date)) parts[p.type] = p.value;
  return `${parts.year!.padStart(4, '0')}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

export class RunAtError extends Error {
  override readonly name = 'RunAtError';
}

/**
 * Metabot reads `run_at` as the platform's local time. A value already in that form passes through untouched;
 * an ISO date-time with offset (what an order event carries) becomes that moment in the platform's zone.
 */
export function toPlatformRunAt(value: string, timeZone: string): string {
  if (isLocalRunAt(value)) return value;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RunAtError(`run_at: "${value}" is neither "YYYY-MM-DD hh:mm:ss" nor an ISO date-time with offset`);
  return formatPlatformTime(new Date(ms), timeZone);
}
