import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRoutesFile, parseRoutes, RoutesError } from '../src/fanout/routes.js';
import { parseOrderPaid } from '../src/events/order-paid.js';
import { planFanout } from '../src/fanout/plan.js';

const ALL = new Set(['mantago', 'joinchat', 'metabot', 'twin24']);
const event = () => parseOrderPaid(JSON.parse(readFileSync('examples/order-paid.json', 'utf8')));
const routes = () => loadRoutesFile('config/routes.example.yaml');
const NOW = new Date('2026-11-21T03:20:00.000Z');

function problemsOf(raw: unknown): string[] {
  try {
    parseRoutes(raw, 'routes.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(RoutesError);
    return (e as RoutesError).problems;
  }
  throw new Error('expected the routes to be rejected');
}

describe('routes file', () => {
  it('loads the example with all four vendors', () => {
    expect(routes().map((r) => `${r.id}:${r.vendor}:${r.channel}`)).toEqual([
      'line-thanks:mantago:line', 'facebook-thanks:mantago:facebook', 'messenger-receipt:joinchat:messenger',
      'metabot-followup:metabot:metabot', 'whatsapp-confirmation:twin24:whatsapp', 'line-confirmation:mantago:line',
    ]);
  });

  it('reads JSON too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    writeFileSync(join(dir, 'r.json'), JSON.stringify({ rules: [{ id: 'a', vendor: 'mantago', channel: 'line', message: { intentId: 'x' } }] }));
    expect(loadRoutesFile(join(dir, 'r.json'))[0]?.id).toBe('a');
  });

  it('names rule and field for every problem', () => {
    const problems = problemsOf({
      rules: [
        { id: 'ok', vendor: 'mantago', channel: 'line', message: { intentId: 'x' } },
        { id: 'Bad Id', vendor: 'mantago', channel: 'line', message: {} },
        { id: 'fb', vendor: 'mantago', channel: 'facebook', message: { message: 'hi' } },
        { id: 'nope', vendor: 'telegram', channel: 'line', message: {} },
        { id: 'wrong-channel', vendor: 'joinchat', channel: 'whatsapp', message: {} },
        { id: 'long', vendor: 'joinchat', channel: 'messenger', message: { message: { template_type: 'text', text: 'x'.repeat(641) } } },
        { id: 'slow', vendor: 'joinchat', channel: 'messenger', message: { delay: 30, message: { template_type: 'text', text: 'hi' } } },
        { id: 'typo', vendor: 'twin24', channel: 'whatsapp', message: { chatSessionName: 's', text: '{{customer.nmae}}' } },
        { id: 'broken', vendor: 'twin24', channel: 'whatsapp', message: { chatSessionName: 's', text: '{{#if}}' } },
        { id: 'ok', vendor: 'mantago', channel: 'line', delay: 'later', message: { intentId: 'x' } },
      ],
    });
    const text = problems.join('\n');
    expect(text).toContain('rules[1] (Bad Id).id: must be 1-64');
    expect(text).toContain('rules[9] (ok).delay: "later" is not a duration');
    // Schema problems are reported first; fix them and the semantic checks run:
  });

  it('checks vendor, channel, limits and templates per rule', () => {
    const text = problemsOf({
      rules: [
        { id: 'ok', vendor: 'mantago', channel: 'line', message: { intentId: 'x' } },
        { id: 'fb', vendor: 'mantago', channel: 'facebook', message: { message: 'hi' } },
        { id: 'nope', vendor: 'telegram', channel: 'line', message: {} },
        { id: 'wrong-channel', vendor: 'joinchat', channel: 'whatsapp', message: {} },
        { id: 'long', vendor: 'joinchat', channel: 'messenger', message: { message: { template_type: 'text', text: 'x'.repeat(641) } } },
        { id: 'slow', vendor: 'joinchat', channel: 'messenger', message: { delay: 30, message: { template_type: 'text', text: 'hi' } } },
        { id: 'typo', vendor: 'twin24', channel: 'whatsapp', message: { chatSessionName: 's', text: '{{customer.nmae}}' } },
        { id: 'broken', vendor: 'twin24', channel: 'whatsapp', message: { chatSessionName: 's', text: '{{#if}}' } },
        { id: 'ok', vendor: 'mantago', channel: 'line', message: { intentId: 'y' } },
      ],
    }).join('\n');
    expect(text).toContain('rules[1] (fb).message.fbTag: is required for platform facebook');
    expect(text).toContain('rules[2] (nope).vendor: unknown vendor "telegram"');
    expect(text).toContain('rules[3] (wrong-channel).channel: joinchat cannot reach "whatsapp"');
    expect(text).toContain('rules[4] (long).message.message.text: must be at most 640 characters');
    expect(text).toContain('rules[5] (slow).message.delay: must be 0 to 10 seconds');
    expect(text).toContain('rules[6] (typo).message.text: "{{customer.nmae}}"');
    expect(text).toContain('rules[7] (broken).message.text: template does not compile');
    expect(text).toContain('rules[8] (ok).id: duplicate rule id');
  });

  it('refuses an unreadable or malformed file with the file name', () => {
    expect(() => loadRoutesFile('/nonexistent/routes.yaml')).toThrow(/Invalid routes file \/nonexistent\/routes.yaml:[\s\S]*cannot read/);
    const dir = mkdtempSync(join(tmpdir(), 'routes-'));
    writeFileSync(join(dir, 'r.yaml'), 'rules: [ {id: a');
    expect(() => loadRoutesFile(join(dir, 'r.yaml'))).toThrow(/not valid YAML/);
  });
});

describe('fan-out plan from the example routes', () => {
  it('renders exactly what each vendor spec needs', () => {
    const plans = planFanout(event(), routes(), ALL, NOW);
    expect(plans.map((p) => p.kind)).toEqual(['deliver', 'deliver', 'deliver', 'deliver', 'deliver']);
    const jobs = plans.map((p) => (p.kind === 'deliver' ? { delayMs: p.delayMs, ...p.job } : undefined));
    expect(jobs[0]).toEqual({
      delayMs: 0, deliveryId: 'line-thanks.A-10001', orderId: 'A-10001', ruleId: 'line-thanks', vendor: 'mantago', createdAt: NOW.toISOString(),
      payload: { platform: 'line', clientIds: ['U4af4980629'], intentId: 'rb2kYmMdW', name: 'order-paid-line' },
    });
    expect(jobs[1]).toMatchObject({
      delayMs: 15_000,
      payload: { platform: 'facebook', clientIds: ['6143254789012345'], message: 'Thank you Somchai Jaidee! Order A-10001 is paid: 1290.00 THB.', fbTag: 'POST_PURCHASE_UPDATE', name: 'order-paid-facebook' },
    });
    expect(jobs[2]?.payload).toEqual({
      recipient: { id: '2468013579' },
      tag: 'POST_PURCHASE_UPDATE',
      delay: 5,
      message: {
        template_type: 'receipt', recipient_name: 'Somchai Jaidee', order_number: 'A-10001', currency: 'THB', payment_method: 'Visa 4242',
        timestamp: 1795230900, summary: { total_cost: 1290 },
        elements: [
          { title: 'Jasmine rice 5 kg', quantity: 2, price: 420, currency: 'THB' },
          { title: 'Fish sauce', quantity: 3, price: 150, currency: 'THB' },
        ],
      },
    });
    expect(jobs[3]?.payload).toEqual({
      script_code: 'order_paid_followup', lead_id: 18273, run_after_sec: 3600, add_tags: 'paid,THB',
      script_request_params: {
        order_id: 'A-10001', total: 1290, currency: 'THB',
        items: [{ name: 'Jasmine rice 5 kg', quantity: 2, unitPrice: 420, sku: 'RICE-5' }, { name: 'Fish sauce', quantity: 3, unitPrice: 150 }],
      },
    });
    expect(jobs[4]?.payload).toEqual({
      chatSessionName: 'order-paid',
      text: 'Hello {{name}}! Your order {{order}} for {{total}} is paid. Reply 1 to confirm delivery.',
      destination: { phone: '66812345678', variables: { name: 'Somchai Jaidee', order: 'A-10001', total: '1290.00 THB' } },
    });
  });

  it('maps each Messenger recipient kind', () => {
    const e = event();
    e.customer.channels = { messenger: { email: 'maria@example.com' } };
    const plan = planFanout(e, routes(), ALL, NOW).find((p) => p.route.vendor === 'joinchat');
    expect(plan?.kind === 'deliver' && (plan.job.payload as { recipient: unknown }).recipient).toEqual({ email: 'maria@example.com' });
  });

  it('skips rules the customer cannot be reached on or whose vendor is disabled', () => {
    const e = event();
    e.customer.channels = { whatsappPhone: '+7 499 286 83 44' };
    const plans = planFanout(e, routes(), new Set(['twin24']), NOW);
    expect(plans.filter((p) => p.kind === 'deliver').map((p) => p.route.id)).toEqual(['whatsapp-confirmation']);
    expect(plans.find((p) => p.route.id === 'line-thanks')).toMatchObject({ kind: 'skipped', reason: 'customer has no line channel' });
    const disabled = planFanout(event(), routes(), new Set(['twin24']), NOW).find((p) => p.route.id === 'metabot-followup');
    expect(disabled).toMatchObject({ kind: 'skipped', reason: 'vendor metabot is disabled (no credentials)' });
  });

  it('rejects only the rule whose rendered message breaks a vendor limit', () => {
    const e = event();
    e.customer.name = 'N'.repeat(200);
    const custom = parseRoutes({ rules: [
      { id: 'short', vendor: 'joinchat', channel: 'messenger', message: { message: { template_type: 'text', text: 'Hi {{customer.name}}' } } },
      { id: 'long', vendor: 'joinchat', channel: 'messenger', message: { message: { template_type: 'text', text: '{{customer.name}} {{customer.name}} {{customer.name}} {{customer.name}}' } } },
    ] });
    const plans = planFanout(e, custom, ALL, NOW);
    expect(plans[0]?.kind).toBe('deliver');
    expect(plans[1]).toMatchObject({ kind: 'rejected' });
    expect(plans[1]?.kind === 'rejected' && plans[1].reason).toContain('message.message.text: must be at most 640 characters (joinchat would refuse this message)');
  });

  it('applies when-filters', () => {
    const custom = parseRoutes({ rules: [
      { id: 'thai', vendor: 'mantago', channel: 'line', when: { locales: ['th'], minTotal: 1000 }, message: { intentId: 'x' } },
      { id: 'rub', vendor: 'mantago', channel: 'line', when: { currencies: ['RUB'] }, message: { intentId: 'y' } },
    ] });
    expect(planFanout(event(), custom, ALL, NOW).map((p) => p.kind)).toEqual(['deliver', 'skipped']);
  });
});
