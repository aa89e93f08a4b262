/**
 * Statistics windows (pure). Twin24's statistics are queried by time window, so the cost of a tick is the number of
 * windows × pages, never the number of messages. A window covers a run of nearby instants, is padded for clock skew
 * between us and Twin24, and never spans more than the configured maximum (a long backlog is chunked).
 */
export interface TimeWindow {
  from: number;
  to: number;
}

/**
 * Groups instants (epoch ms, any order) into windows of at most `maxSpanMs` including the padding on both sides.
 * A gap larger than what fits in the current window starts a new one, so sparse pending messages do not drag
 * empty hours into the queries.
 */
export function coveringWindows(instants: readonly number[], maxSpanMs: number, padMs: number): TimeWindow[] {
  if (instants.length === 0) return [];
  // The padding must leave room for content; a tiny window setting still makes progress one instant at a time.
  const pad = Math.max(0, Math.min(padMs, Math.floor(maxSpanMs / 4)));
  const inner = Math.max(0, maxSpanMs - 2 * pad);
  const sorted = [...instants].sort((a, b) => a - b);
  const windows: TimeWindow[] = [];
  let start = sorted[0]!;
  let end = start;
  for (const t of sorted.slice(1)) {
    if (t - start <= inner) {
      end = t;
      continue;
    }
    windows.push({ from: start - pad, to: end + pad });
    start = t;
    end = t;
  }
  windows.push({ from: start - pad, to: end + pad });
  return windows;
}

/** Covers every [from, to] span (each already padded by the caller) with windows of at most `maxSpanMs`. */
export function coveringSpans(spans: readonly TimeWindow[], maxSpanMs: number): TimeWindow[] {
  if (spans.length === 0) return [];
  const sorted = [...spans].sort((a, b) => a.from - b.from);
  // Merge overlapping spans first, then cut each merged run into pieces no longer than maxSpanMs.
  const merged: TimeWindow[] = [];
  for (const s of sorted) {
    const last = merged[merged.length - 1];
    if (last && s.from <= last.to) last.to = Math.max(last.to, s.to);
    else merged.push({ ...s });
  }
  const step = Math.max(1, maxSpanMs);
  return merged.flatMap((m) => {
    const out: TimeWindow[] = [];
    for (let from = m.from; from <= m.to; from += step + 1) out.push({ from, to: Math.min(m.to, from + step) });
    return out;
  });
}

/**
 * Twin24's query format: ISO 8601 with seconds and an explicit offset (`2023-11-22T12:00:00+00:00`), widened to
 * whole seconds so rounding never drops an edge instant.
 */
export function twin24Instant(epochMs: number, edge: 'from' | 'to'): string {
  const seconds = edge === 'from' ? Math.floor(epochMs / 1000) : Math.ceil(epochMs / 1000);
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}+00:00`;
}
