import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { OrderPaid } from '../../src/events/order-paid.js';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { sandboxEnv } from '../../test/support/config.js';
import type { BenchSandbox } from './sandbox.js';

/** The vendors the benchmarks measure (the chat vendors of the example routes). */
export const BENCH_VENDORS = ['mantago', 'joinchat', 'metabot', 'twin24'] as const;
export type BenchVendor = (typeof BENCH_VENDORS)[number];

/** The example rule each vendor runs in the benchmarks (config/routes.example.yaml, unchanged). */
export const EXAMPLE_RULE: Record<BenchVendor, string> = {
  mantago: 'line-thanks',
  joinchat: 'messenger-receipt',
  metabot: 'metabot-followup',
  twin24: 'whatsapp-confirmation',
};

/** A routes file holding ONE example rule, so each event makes exactly one delivery for that vendor. */
export function oneRuleRoutesFile(vendor: BenchVendor, dir?: string): string {
  return exampleRulesFile([EXAMPLE_RULE[vendor]], `routes-${vendor}.json`, dir);
}

/**
 * The realistic workload: 4 example rules per order (LINE + Facebook via MantaGO, Messenger via JoinChat, WhatsApp
 * via Twin24), so each event makes 4 deliveries in 3 vendor queues.
 */
export const FOUR_RULES = ['line-thanks', 'facebook-thanks', 'messenger-receipt', 'whatsapp-confirmation'] as const;
/** Deliveries per event of FOUR_RULES, by vendor queue. */
export const FOUR_RULES_DELIVERIES: Partial<Record<BenchVendor, number>> = { mantago: 2, joinchat: 1, twin24: 1 };

/**
 * Example rules, unchanged but for `delay` (a queue-side delay would hold deliveries back: not what is measured) and
 * `fallback` (its check fires minutes later, after the run; the fallback's own cost is not measured here).
 */
export function exampleRulesFile(ids: readonly string[], name: string, dir = mkdtempSync(join(tmpdir(), 'order-notify-bench-routes-'))): string {
  const example = parseYaml(readFileSync('config/routes.example.yaml', 'utf8')) as { rules: Array<{ id: string; delay?: string; fallback?: unknown }> };
  const rules = ids.map((id) => {
    const rule = example.rules.find((r) => r.id === id);
    if (!rule) throw new Error(`config/routes.example.yaml has no rule ${id}`);
    const { delay: _queueDelay, fallback: _fallback, ...immediate } = rule;
    return immediate;
  });
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ version: 1, rules }));
  return file;
}

/** Event i of a run: distinct order id and distinct recipients on every channel (nothing deduplicated by accident). */
export function benchEvent(run: string, i: number): OrderPaid {
  return {
    ...SAMPLE_ORDER_PAID,
    orderId: `${run}-${i}`,
    total: 100 + (i % 900),
    customer: {
      ...SAMPLE_ORDER_PAID.customer,
      name: `Customer ${i}`,
      channels: {
        lineUserId: `U${run}x${i}`,
        facebookUserId: `F${run}x${i}`,
        messenger: { psid: `${1_000_000_000 + i}` },
        metabotLeadId: i + 1,
        whatsappPhone: phoneOf(i),
      },
    },
  };
}

export const phoneOf = (i: number) => `66${800_000_000 + i}`;

/** Env of a worker process pointed at the bench Redis and sandbox, with the vendors' sandbox credentials. */
export function workerEnv(redisUrl: string, prefix: string, sandbox: BenchSandbox, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info', // the default a deployment runs with
    SHUTDOWN_TIMEOUT: '10s',
    ...sandboxEnv(sandbox),
    ...extra,
  };
}

let runCounter = 0;
/** A fresh queue prefix and order-id namespace per run. */
export function freshRun(label: string): string {
  runCounter++;
  return `b${label}${runCounter}${Math.random().toString(36).slice(2, 6)}`;
}

/** Limits that never bind (the throughput scenario measures the machine, not a vendor budget). */
export const UNLIMITED = '1000000/1s';
