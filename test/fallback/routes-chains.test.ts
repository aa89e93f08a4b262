import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRoutesFile, parseRoutes, RoutesError } from '../../src/fanout/routes.js';
import { parseOrderPaid } from '../../src/events/order-paid.js';
import { planChains } from '../../src/fanout/chains.js';
import { planFanout } from '../../src/fanout/plan.js';
import { startProcess } from '../../src/app/worker-process.js';
import { EXIT, StartupError } from '../../src/runtime/exit-codes.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { startRedis } from '../support/redis.js';

const wa = (id: string, extra: Record<string, unknown> = {}) => ({
  id, vendor: 'twin24', channel: 'whatsapp', message: { chatSessionName: 's', text: 'hi' }, ...extra,
});
const line = (id: string, extra: Record<string, unknown> = {}) => ({ id, vendor: 'mantago', channel: 'line', message: { message: 'hi' }, ...extra });
const messenger = (id: string, extra: Record<string, unknown> = {}) => ({
  id, vendor: 'joinchat', channel: 'messenger', message: { message: { template_type: 'text', text: 'hi' } }, ...extra,
});

function problemsOf(rules: unknown[]): string[] {
  try {
    parseRoutes({ rules }, 'routes.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(RoutesError);
    return (e as RoutesError).problems;
  }
  throw new Error('expected the routes to be rejected');
}

describe('fallback chains in the routes file', () => {
  it('loads a chain of three with after on the reporting vendor', () => {
    const routes = parseRoutes({ rules: [
      wa('wa', { fallback: { rule: 'ln', after: '2m' } }),
      line('ln', { fallbackOnly: true, fallback: 'ms' }),
      messenger('ms', { fallbackOnly: true, sendWindow: { from: '09:00', to: '21:00', days: ['mon', 'fri'], timeZone: 'Asia/Bangkok', spread: '5m' } }),
    ] });
    expect(routes.map((r) => [r.id, r.fallback, r.fallbackOnly ?? false])).toEqual([
      ['wa', { rule: 'ln', afterMs: 120_000 }, false], ['ln', { rule: 'ms', afterMs: undefined }, true], ['ms', undefined, true],
    ]);
    expect(routes[2]!.sendWindow).toEqual({ fromMinute: 540, toMinute: 1260, days: ['mon', 'fri'], timeZone: 'Asia/Bangkok', spreadMs: 300_000 });
  });

  it('refuses a cycle, naming the rules', () => {
    const problems = problemsOf([
      wa('wa', { fallback: 'ln' }),
      line('ln', { fallbackOnly: true, fallback: 'ms' }),
      messenger('ms', { fallbackOnly: true, fallback: 'ln' }),
    ]);
    expect(problems.join('\n')).toContain('fallback cycle ln → ms → ln');
    expect(problems.filter((p) => p.includes('cycle'))).toHaveLength(1);
  });

  it('a cycle stops start-up with the config exit code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'routes-cycle-'));
    const file = join(dir, 'routes.json');
    writeFileSync(file, JSON.stringify({ rules: [line('a', { fallback: 'b' }), messenger('b', { fallbackOnly: true, fallback: 'a' })] }));
    expect(() => loadRoutesFile(file)).toThrow(/fallback cycle a → b → a/);
    const redis = await startRedis();
    try {
      const error = await startProcess(['fanout'], { env: { ROUTES_FILE: file, REDIS_URL: redis.url, LOG_LEVEL: 'silent', METRICS_PORT: '0' } })
        .then((p) => p.close(), (e: unknown) => e);
      expect(error).toBeInstanceOf(StartupError);
      expect((error as StartupError).exitCode).toBe(EXIT.config);
      expect((error as StartupError).message).toContain('fallback cycle a → b → a');
    } finally {
      await redis.stop();
    }
  });

  it('names every other mistake', () => {
    const text = problemsOf([
      wa('wa', { fallback: 'nope' }),
      line('ln', { fallback: { rule: 'ms', after: '1m' } }),
      messenger('ms'),
      wa('wa2', { fallback: 'ln2' }),
      line('ln2', { fallbackOnly: true }),
      wa('wa3', { fallback: 'ln2' }),
    ]).join('\n');
    expect(text).toContain('rules[0] (wa).fallback.rule: no rule with id "nope"');
    expect(text).toContain('rules[2] (ms).fallbackOnly: must be true, because ln falls back to it');
    expect(text).toContain('rules[1] (ln).fallback.after: mantago does not report delivery');
    expect(text).toContain('rules[5] (wa3).fallback.rule: "ln2" is already the fallback of wa2');
  });

  it('checks send windows (schema problems are reported before the chain checks)', () => {
    const text = problemsOf([
      wa('wa4', { sendWindow: { from: '09:00', to: '09:00' } }),
      wa('wa5', { sendWindow: { from: '9am', to: '21:00', timeZone: 'Mars/Olympus' } }),
      wa('wa6', { sendWindow: { from: '09:00', to: '21:00', days: ['sun', 'someday'] } }),
    ]).join('\n');
    expect(text).toContain('rules[0] (wa4).sendWindow.to: from and to must differ');
    expect(text).toContain('rules[1] (wa5).sendWindow.from: must be a time of day');
    expect(text).toContain('rules[1] (wa5).sendWindow.timeZone: must be an IANA time zone');
    expect(text).toContain('rules[2] (wa6).sendWindow.days.1');
  });
});

describe('planning a chain for one order', () => {
  const routes = parseRoutes({ rules: [
    wa('wa', { fallback: { rule: 'ln', after: '2m' } }),
    line('ln', { fallbackOnly: true, fallback: 'ms' }),
    messenger('ms', { fallbackOnly: true, sendWindow: { from: '09:00', to: '21:00', timeZone: 'Europe/Paris' } }),
  ] });
  const ALL = new Set(['mantago', 'joinchat', 'metabot', 'twin24']);
  const now = new Date('2026-11-21T03:20:00Z');
  const defaults = { timeZone: 'UTC', spreadMs: 0 };

  it('never plans a fallbackOnly rule on its own; the head goes first, the rest waits in the chain', () => {
    const event = parseOrderPaid({ ...SAMPLE_ORDER_PAID, customer: { ...SAMPLE_ORDER_PAID.customer, timeZone: 'Asia/Bangkok' } });
    const plans = planFanout(event, routes, ALL, now, defaults);
    expect(plans.map((p) => p.route.id)).toEqual(['wa']);
    const [chain] = planChains(event, plans, routes, ALL, now, defaults);
    expect(chain!.steps.map((s) => [s.plan.route.id, s.step, s.reports, s.afterMs, s.position.next])).toEqual([
      ['wa', 0, true, 120_000, 'ln'], ['ln', 1, false, undefined, 'ms'], ['ms', 2, false, undefined, undefined],
    ]);
    // The customer's zone wins over the rule's.
    expect(chain!.steps[2]!.plan.job.sendWindow?.timeZone).toBe('Asia/Bangkok');
    expect(chain!.steps[1]!.plan.job.chain).toEqual({ head: 'wa', link: 1, step: 1 });
  });

  it('passes over a later link the customer cannot get; a skipped head skips the chain', () => {
    const event = parseOrderPaid({ ...SAMPLE_ORDER_PAID, customer: { ...SAMPLE_ORDER_PAID.customer, channels: { whatsappPhone: '+66811234567', messenger: { psid: '1' } } } });
    const [chain] = planChains(event, planFanout(event, routes, ALL, now, defaults), routes, ALL, now, defaults);
    expect(chain!.links.map((l) => [l.plan.route.id, l.plan.kind])).toEqual([['wa', 'deliver'], ['ln', 'skipped'], ['ms', 'deliver']]);
    expect(chain!.steps.map((s) => [s.plan.route.id, s.position.next])).toEqual([['wa', 'ms'], ['ms', undefined]]);
    expect(chain!.steps[1]!.plan.job.sendWindow?.timeZone).toBe('Europe/Paris'); // no customer zone: the rule's

    const noWhatsapp = parseOrderPaid({ ...SAMPLE_ORDER_PAID, customer: { ...SAMPLE_ORDER_PAID.customer, channels: { lineUserId: 'U1' } } });
    expect(planChains(noWhatsapp, planFanout(noWhatsapp, routes, ALL, now, defaults), routes, ALL, now, defaults)).toEqual([]);
  });

  it('a head the vendor would refuse counts as failed: the next link goes at once, saying why', () => {
    const long = parseRoutes({ rules: [
      messenger('ms0', { fallback: 'ln', message: { message: { template_type: 'text', text: '{{customer.name}} {{customer.name}} {{customer.name}} {{customer.name}}' } } }),
      line('ln', { fallbackOnly: true }),
    ] });
    const event = parseOrderPaid({ ...SAMPLE_ORDER_PAID, customer: { ...SAMPLE_ORDER_PAID.customer, name: 'x'.repeat(200), channels: { lineUserId: 'U1', messenger: { psid: '1' } } } });
    const [chain] = planChains(event, planFanout(event, long, ALL, now, defaults), long, ALL, now, defaults);
    expect(chain!.steps.map((s) => s.plan.route.id)).toEqual(['ln']);
    expect(chain!.steps[0]!.position.firedBecause).toMatch(/^ms0: rejected - /);
  });
});
