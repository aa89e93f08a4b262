import fc from 'fast-check';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { testOrder } from '../support/orders.js';

/**
 * fast-check generators of order.paid bodies that must be refused: each case is invalid BY CONSTRUCTION (not
 * by asking the schema), and names the field the refusal must point at, so the fuzz checks the errors too.
 */
export interface HostileCase {
  kind: string;
  /** The JSON value (for the producer); for `raw` cases the HTTP body bytes are in `bytes`. */
  body: unknown;
  /** The exact bytes to POST, when they are not JSON.stringify(body) (invalid UTF-8, absurd nesting). */
  bytes?: Buffer;
  /** A field error must name this path, a parent or a child of it (or mention it, for whole-event problems). */
  field?: string;
}

const base = (): OrderPaid => {
  const o = testOrder('fuzz', 7, ['metabotLeadId', 'messenger', 'lineUserId']);
  return { ...o, orderUrl: 'https://shop.example.com/o/7', shippingAddress: { street1: '1 Road', city: 'Bangkok', postalCode: '10110', state: 'BKK', country: 'TH' } };
};

/** The object at a dotted path of the base event. */
function objectAt(path: string): Record<string, unknown> {
  let at = base() as unknown as Record<string, unknown>;
  for (const p of path.split('.')) at = at[p] as Record<string, unknown>;
  return at;
}

/** Sets (or deletes, with undefined) a dotted path in a deep copy; intermediate objects must exist in the base. */
function withPath(path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base()) as unknown as Record<string, unknown>;
  const parts = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>;
  const last = parts[parts.length - 1]!;
  if (value === undefined) delete at[last];
  else Object.defineProperty(at, last, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const smallJson = fc.jsonValue({ maxDepth: 2 });
const notString = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null),
  fc.array(smallJson, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), smallJson, { maxKeys: 3 }));
const notNumber = fc.oneof(fc.string({ maxLength: 20 }), fc.boolean(), fc.constant(null), fc.array(smallJson, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), smallJson, { maxKeys: 3 }));
const notObject = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(smallJson, { maxLength: 3 }));
/** More than `over` characters (zod counts code points, so an emoji is one), no spaces at the ends for a trim to remove. */
const huge = (over: number) => fc.integer({ min: over + 1, max: over + 40_000 }).chain((n) => fc.constantFrom('x', 'é', '😀', 'ab').map((c) => c.repeat(n)));
const unlike = (re: RegExp) => fc.string({ maxLength: 40 }).filter((s) => !re.test(s));

/** Anything that starts like a date-time is left out, so every generated paidAt is surely not one. */
const ISO = /^\d{4}-\d{2}-\d{2}T/;
/** Per field: values of the right JSON type that the contract still forbids. */
const badStrings: Record<string, fc.Arbitrary<string>> = {
  orderId: fc.oneof(fc.constant(''), huge(200), fc.string({ maxLength: 10 }).map((s) => `${s}\u0000${s}`), fc.string({ maxLength: 10 }).map((s) => `a\n${s}`)),
  paidAt: unlike(ISO),
  currency: unlike(/^[A-Z]{3}$/),
  'customer.name': fc.oneof(fc.constant(''), fc.constantFrom(' ', '\t\n', '   '), huge(200)),
  'customer.locale': unlike(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/),
  'items.0.name': fc.oneof(fc.constant(''), huge(200)),
  orderUrl: fc.oneof(unlike(/^[a-z][a-z0-9+.-]*:/i), huge(2_000).map((s) => `https://x.example/${s}`)),
  'customer.channels.lineUserId': fc.oneof(fc.constant(''), huge(100)),
  'shippingAddress.city': fc.oneof(fc.constant(''), huge(100)),
};
const badNumbers: Record<string, fc.Arbitrary<number>> = {
  total: fc.double({ max: -Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }),
  'items.0.quantity': fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 1_000_001 }), fc.double({ min: 0.001, max: 1e6, noNaN: true }).filter((d) => !Number.isInteger(d))),
  'items.0.unitPrice': fc.double({ max: -Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true }),
  'customer.channels.metabotLeadId': fc.oneof(fc.integer({ max: 0 }), fc.double({ min: 0.5, max: 1e9, noNaN: true }).filter((d) => !Number.isInteger(d))),
};
const STRING_PATHS = Object.keys(badStrings);
const NUMBER_PATHS = Object.keys(badNumbers);
const OBJECT_PATHS = ['customer', 'customer.channels', 'items.0', 'shippingAddress', 'customer.channels.messenger'];
const REQUIRED = ['orderId', 'paidAt', 'currency', 'total', 'items', 'customer', 'customer.name', 'customer.locale', 'customer.channels',
  'items.0.name', 'items.0.quantity', 'items.0.unitPrice', 'shippingAddress.city'];
const STRICT_OBJECTS = ['customer', 'customer.channels', 'items.0', 'shippingAddress', 'customer.channels.messenger'];
/** Optional keys of the strict objects: adding one is not an unknown key. */
const OPTIONAL_KEYS = ['psid', 'uuid', 'phone', 'email', 'street2', 'sku', 'imageUrl', 'facebookUserId', 'whatsappPhone', 'lineUserId', 'metabotLeadId', 'messenger'];
const POLLUTION_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

const wrongType: fc.Arbitrary<HostileCase> = fc.oneof(
  fc.tuple(fc.constantFrom(...STRING_PATHS), notString).map(([field, v]) => ({ kind: 'wrong type', body: withPath(field, v), field })),
  fc.tuple(fc.constantFrom(...NUMBER_PATHS), notNumber).map(([field, v]) => ({ kind: 'wrong type', body: withPath(field, v), field })),
  fc.tuple(fc.constantFrom(...OBJECT_PATHS), notObject).map(([field, v]) => ({ kind: 'wrong type', body: withPath(field, v), field })),
  fc.oneof(notObject.filter((v) => !Array.isArray(v)), fc.constant([]), fc.array(notObject, { minLength: 1, maxLength: 5 }), fc.array(fc.constant(base().items[0]), { minLength: 501, maxLength: 520 }))
    .map((v) => ({ kind: 'wrong type', body: withPath('items', v), field: 'items' })),
);
const wrongValue: fc.Arbitrary<HostileCase> = fc.oneof(
  fc.constantFrom(...STRING_PATHS).chain((field) => badStrings[field]!.map((v) => ({ kind: v.length > 1_000 ? 'huge string' : 'bad value', body: withPath(field, v), field }))),
  fc.constantFrom(...NUMBER_PATHS).chain((field) => badNumbers[field]!.map((v) => ({ kind: 'bad value', body: withPath(field, v), field }))),
);
const missing: fc.Arbitrary<HostileCase> = fc.constantFrom(...REQUIRED).map((field) => ({ kind: 'missing field', body: withPath(field, undefined), field }));
const unknownKey: fc.Arbitrary<HostileCase> = fc.tuple(fc.constantFrom(...STRICT_OBJECTS), fc.string({ minLength: 1, maxLength: 12 }), smallJson)
  .filter(([path, key]) => !key.includes('.') && !Object.hasOwn(objectAt(path), key) && !OPTIONAL_KEYS.includes(key))
  .map(([path, key, v]) => ({ kind: 'unknown key', body: withPath(`${path}.${key}`, v), field: path }));

/** Nested arrays/objects deeper than the contract's 6 levels of extra data (and far deeper). */
function nest(depth: number, useArrays: boolean): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = useArrays ? [v] : { n: v };
  return v;
}
const deep: fc.Arbitrary<HostileCase> = fc.tuple(fc.integer({ min: 8, max: 3_000 }), fc.boolean(), fc.constantFrom('meta', 'extra', 'tracking', 'customer.channels.messenger', 'items.0.name'))
  .map(([depth, arrays, where]) => ({ kind: 'deep nesting', body: withPath(where, nest(depth, arrays)), field: where }));

/** Own `__proto__` / `constructor` / `prototype` keys, as JSON.parse makes them, at the top or nested. */
const pollution: fc.Arbitrary<HostileCase> = fc.tuple(fc.constantFrom(...POLLUTION_KEYS), fc.constantFrom('', 'meta.', 'customer.', 'customer.channels.', 'items.0.'))
  .map(([key, at]) => {
    const payload = key === 'constructor' ? { prototype: { polluted: true } } : { polluted: true };
    const body = at === 'meta.' ? withPath('meta', JSON.parse(`{"ok":1,"${key}":${JSON.stringify(payload)}}`)) : withPath(`${at}${key}`, payload);
    return { kind: 'prototype pollution', body, field: at === '' ? key : at === 'meta.' ? 'meta' : at.slice(0, -1) };
  });

const notAnObject: fc.Arbitrary<HostileCase> = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constant(null), fc.array(smallJson, { maxLength: 4 }))
  .map((body) => ({ kind: 'not an object', body }));

/** Every hostile body that has a JSON form: the producer gets the value, HTTP gets JSON.stringify of it. */
export const hostileEvent: fc.Arbitrary<HostileCase> = fc.oneof(
  { arbitrary: wrongType, weight: 4 },
  { arbitrary: wrongValue, weight: 4 },
  { arbitrary: missing, weight: 2 },
  { arbitrary: unknownKey, weight: 2 },
  { arbitrary: deep, weight: 2 },
  { arbitrary: pollution, weight: 2 },
  { arbitrary: notAnObject, weight: 1 },
);

/** Byte sequences that are not UTF-8: lone continuation, overlong, surrogate, truncated, out of range. */
const INVALID_UTF8 = [[0x80], [0xff], [0xfe], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];

/** HTTP only: a valid event whose bytes carry invalid UTF-8 inside a string, or JSON nested far beyond any use. */
export const hostileBytes: fc.Arbitrary<HostileCase> = fc.oneof(
  fc.tuple(fc.constantFrom(...INVALID_UTF8), fc.constantFrom('customer.name', 'orderId', 'items.0.name')).map(([bad, field]) => {
    const json = JSON.stringify(withPath(field, 'AB@@X@@CD'));
    const [before, after] = json.split('@@X@@') as [string, string];
    // Refused as a whole body (it cannot be decoded), so no particular field is expected.
    return { kind: 'invalid UTF-8', body: undefined, bytes: Buffer.concat([Buffer.from(before), Buffer.from(bad), Buffer.from(after)]), field: undefined };
  }),
  fc.integer({ min: 10_000, max: 120_000 }).map((depth) => ({
    kind: 'absurd nesting', body: undefined, field: 'meta',
    bytes: Buffer.from(`${JSON.stringify(base()).slice(0, -1)},"meta":${'['.repeat(depth)}${']'.repeat(depth)}}`),
  })),
);

/**
 * Does a field error point at the mutated field: the field itself, a parent or child of it, or a whole-event error
 * that mentions it? A `(body)` error (the HTTP body could not be read as JSON at all) also counts.
 */
export function namesField(errors: Array<{ field: string; message: string }>, field: string | undefined): boolean {
  if (errors.some((e) => e.field === '(body)' && e.message.length > 0)) return true;
  if (field === undefined) return errors.length > 0;
  return errors.some((e) => e.field === field || e.field.startsWith(`${field}.`) || field.startsWith(`${e.field}.`)
    || (e.field === '(event)' && e.message.includes(field.split('.').pop()!)));
}
