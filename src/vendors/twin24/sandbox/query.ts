import type { Outcome } from '../../../sandbox/recorder.js';

/** The statistics query of the sandbox's Twin24 analyse API: times, paging (with the server's limit cap), fields. */

/** ISO 8601 with seconds and an offset; a raw `+` in a query string arrives as a space, hence the hint. */
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export type Query = Record<string, string>;

/** A statistics query parameter that is missing or malformed: answered 400 with this message. */
export class BadQuery extends Error {}

function instant(query: Query, name: string): number {
  const value = query[name];
  if (value === undefined || value === '') throw new BadQuery(`${name}: required, an ISO 8601 time with offset like 2023-11-22T12:00:00+00:00`);
  const at = ISO_WITH_OFFSET.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(at)) {
    const hint = / \d{2}:\d{2}$/.test(value) ? ' (a "+" must be sent as %2B)' : '';
    throw new BadQuery(`${name}: "${value}" is not an ISO 8601 time with offset like 2023-11-22T12:00:00+00:00${hint}`);
  }
  return at;
}

function whole(query: Query, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = query[name];
  if (value === undefined || value === '') return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw new BadQuery(`${name}: must be an integer from ${min} to ${max}`);
  return n;
}

export function flag(query: Query, name: string): boolean {
  const value = query[name];
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new BadQuery(`${name}: must be true or false`);
}

interface Window {
  from: number;
  to: number;
  skip: number;
  limit: number;
  withoutCount: boolean;
  fields?: string[];
}

/**
 * The query shared by both statistics endpoints: from/to, paging (offset wins over page), counts and fields. The
 * server's own cap wins over a larger `limit`, and `page` counts pages of the size actually served.
 */
export function parseWindow(query: Query, limitCap: number): Window {
  const limit = Math.min(whole(query, 'limit', 100, 1, 1000), limitCap);
  const page = whole(query, 'page', 0);
  return {
    from: instant(query, 'from'),
    to: instant(query, 'to'),
    limit,
    skip: whole(query, 'offset', page * limit),
    withoutCount: flag(query, 'withoutCount'),
    fields: query.fields ? query.fields.split(',').map((f) => f.trim()).filter(Boolean) : undefined,
  };
}

export function answerQuery(read: () => Outcome): Outcome {
  try {
    return read();
  } catch (err) {
    if (err instanceof BadQuery) return { status: 400, body: { error: 'Bad Request', details: err.message }, reason: `Bad Request: ${err.message}` };
    throw err;
  }
}

export function pick(item: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in item).map((k) => [k, item[k]]));
}
