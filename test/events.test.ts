import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidEventError, parseOrderPaid } from '../src/events/order-paid.js';
import { ZodError } from 'zod';

const example = () => JSON.parse(readFileSync('examples/order-paid.json', 'utf8'));

function fieldsOf(input: unknown): string[] {
  try {
    parseOrderPaid(input);
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidEventError);
    expect(e).toBeInstanceOf(ZodError);
    return (e as InvalidEventError).fieldErrors.map((f) => f.field);
  }
  throw new Error('expected the event to be rejected');
}

describe('order.paid contract', () => {
  it('accepts every example and keeps unknown extra fields', () => {
    for (const file of readdirSync('examples').filter((f) => f.endsWith('.json'))) {
      const event = parseOrderPaid(JSON.parse(readFileSync(`examples/${file}`, 'utf8')));
      expect(event.orderId).toMatch(/^A-/);
    }
    expect((parseOrderPaid(example()) as Record<string, unknown>).shopChannel).toBe('web');
  });

  it.each([
    ['orderId', (e: any) => { e.orderId = 42; }],
    ['orderId', (e: any) => { e.orderId = ''; }],
    ['paidAt', (e: any) => { e.paidAt = '2026-11-21 10:15'; }],
    ['paidAt', (e: any) => { e.paidAt = '2026-11-21T10:15:00'; }],
    ['currency', (e: any) => { e.currency = 'baht'; }],
    ['total', (e: any) => { e.total = -1; }],
    ['total', (e: any) => { e.total = '12'; }],
    ['items', (e: any) => { e.items = []; }],
    ['items.0.quantity', (e: any) => { e.items[0].quantity = 1.5; }],
    ['items.1.unitPrice', (e: any) => { delete e.items[1].unitPrice; }],
    ['customer.name', (e: any) => { e.customer.name = '   '; }],
    ['customer.locale', (e: any) => { e.customer.locale = 'Thai'; }],
    ['customer.channels.messenger', (e: any) => { e.customer.channels.messenger = { psid: '1', email: 'a@b.co' }; }],
    ['customer.channels.metabotLeadId', (e: any) => { e.customer.channels.metabotLeadId = 'abc'; }],
    ['customer.channels.whatsappPhone', (e: any) => { e.customer.channels.whatsappPhone = 'call me'; }],
    ['customer.channels', (e: any) => { e.customer.channels.telegram = 'x'; }],
  ])('names the bad field %s', (field, mutate) => {
    const e = example();
    mutate(e);
    expect(fieldsOf(e)).toContain(field);
  });

  it('lists every bad field at once, in one readable message', () => {
    const e = example();
    e.orderId = 1;
    e.currency = 'x';
    try {
      parseOrderPaid(e);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe('invalid order.paid event: orderId: Invalid input: expected string, received number; currency: must be a 3-letter ISO 4217 code such as THB');
    }
  });

  it('refuses prototype-pollution keys and deep nesting in extra fields', () => {
    const polluted = JSON.parse(`{"extra": {"__proto__": {"admin": true}}}`);
    expect(fieldsOf({ ...example(), ...polluted }).length).toBeGreaterThan(0);
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { deep };
    expect(fieldsOf({ ...example(), deep })).toEqual(['(event)']);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('rejects non-objects', () => {
    for (const bad of [null, 'order', 7, [], undefined]) expect(fieldsOf(bad).length).toBeGreaterThan(0);
  });
});
