import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { SAMPLE_ORDER_PAID } from '../events/sample.js';
import { checkTemplateSyntax } from './template.js';
import { renderRule } from './plan.js';
import { CHANNELS, isVendorName, vendorDefinition, VENDORS } from '../vendors/registry.js';
import { durationMs } from '../config/duration.js';
import { checkChains, fallbackSchema, sendWindowSchema, toRouteSendWindow } from './route-extras.js';
import type { Route } from './route.js';

export type { Route };

/** Routing rules: which vendor message each paid order produces. See config/routes.example.yaml. */
const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1-64 of a-z, 0-9, "-" or "_", starting with a letter or digit'),
    vendor: z.string(),
    channel: z.enum(CHANNELS),
    description: z.string().optional(),
    enabled: z.boolean().default(true),
    /** Queue-side delay before the vendor call, e.g. 90s or 2h. */
    delay: durationMs.optional(),
    /** Optional filters; a rule applies when all given ones match. */
    when: z
      .object({
        locales: z.array(z.string()).min(1).optional(),
        currencies: z.array(z.string()).min(1).optional(),
        minTotal: z.number().nonnegative().optional(),
      })
      .strict()
      .optional(),
    /** Send this rule instead when the message ends without reaching the customer (see docs/fallbacks.md). */
    fallback: fallbackSchema.optional(),
    /** Only ever sent as another rule's fallback. */
    fallbackOnly: z.boolean().default(false),
    /** Quiet hours: outside this window a delivery waits in the queue until it opens. */
    sendWindow: sendWindowSchema.optional(),
    message: z.record(z.string(), z.unknown()),
    /** When a re-run cannot know whether the vendor got the message: resend (at-least-once) or hold (at-most-once). */
    onUnknownOutcome: z.enum(['resend', 'hold']).default('resend'),
  })
  .strict();

const routesFileSchema = z.object({ version: z.literal(1).default(1), rules: z.array(ruleSchema).min(1, 'must hold at least one rule') }).strict();


export class RoutesError extends Error {
  constructor(readonly file: string, readonly problems: string[]) {
    super(`Invalid routes file ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RoutesError';
  }
}

export function loadRoutesFile(file: string): Route[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RoutesError(file, [`cannot read: ${(e as Error).message}`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text); // YAML is a superset of JSON: both file kinds work.
  } catch (e) {
    throw new RoutesError(file, [`not valid YAML/JSON: ${(e as Error).message}`]);
  }
  return parseRoutes(raw, file);
}

/** Validates rules; every problem names the rule (by index and id) and the field. */
export function parseRoutes(raw: unknown, file = '(routes)'): Route[] {
  const parsed = routesFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new RoutesError(file, parsed.error.issues.map((i) => `${describePath(raw, i.path)}: ${i.message}`));
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const routes: Route[] = [];
  parsed.data.rules.forEach((rule, index) => {
    const where = `rules[${index}] (${rule.id})`;
    if (seen.has(rule.id)) problems.push(`${where}.id: duplicate rule id`);
    seen.add(rule.id);
    if (!isVendorName(rule.vendor)) {
      problems.push(`${where}.vendor: unknown vendor "${rule.vendor}"`);
      return;
    }
    const def = vendorDefinition(rule.vendor);
    if (!Object.hasOwn(def.recipients, rule.channel)) {
      problems.push(`${where}.channel: ${rule.vendor} cannot reach "${rule.channel}" (it serves ${Object.keys(def.recipients).join(', ')})`);
      return;
    }
    if (!rule.enabled) return;
    const syntax = checkTemplateSyntax(rule.message);
    if (syntax.length) {
      problems.push(...syntax.map((p) => `${where}.${p}`));
      return;
    }
    const route: Route = { id: rule.id, vendor: rule.vendor, channel: rule.channel, description: rule.description, delayMs: rule.delay, when: rule.when, message: rule.message };
    if (rule.onUnknownOutcome === 'hold') route.onUnknownOutcome = 'hold';
    if (rule.fallback) route.fallback = { rule: rule.fallback.rule, afterMs: rule.fallback.after };
    if (rule.fallbackOnly) route.fallbackOnly = true;
    if (rule.sendWindow) route.sendWindow = toRouteSendWindow(rule.sendWindow);
    // Dry run against a complete sample order: a message the vendor would refuse is caught at start-up, not at 3 a.m.
    const dry = renderRule(route, SAMPLE_ORDER_PAID);
    if (!dry.ok) problems.push(`${where}.${dry.reason}`);
    routes.push(route);
  });
  problems.push(...checkChains(parsed.data.rules.map((rule, index) => ({
    id: rule.id, index, enabled: rule.enabled, fallbackOnly: rule.fallbackOnly, fallback: rule.fallback, vendor: rule.vendor,
    reportsDelivery: isVendorName(rule.vendor) && vendorDefinition(rule.vendor).reportsDelivery === true,
  })), VENDORS.filter((v) => vendorDefinition(v).reportsDelivery === true)));
  if (problems.length) throw new RoutesError(file, problems);
  return routes;
}

function describePath(raw: unknown, path: PropertyKey[]): string {
  if (path[0] === 'rules' && typeof path[1] === 'number') {
    const rules = (raw as { rules?: Array<{ id?: unknown }> } | undefined)?.rules;
    const id = rules?.[path[1]]?.id;
    const rest = path.slice(2).map(String).join('.');
    return `rules[${path[1]}]${typeof id === 'string' ? ` (${id})` : ''}${rest ? `.${rest}` : ''}`;
  }
  return path.length ? path.map(String).join('.') : '(file)';
}
