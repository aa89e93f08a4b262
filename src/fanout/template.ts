import Handlebars from 'handlebars';

/**
 * Rule messages are YAML/JSON trees whose strings may hold {{...}} placeholders (Handlebars, no HTML escaping:
 * these are chat messages, not web pages). Two extras keep structured payloads possible:
 * - a string that is exactly one placeholder (`"{{total}}"`) yields the raw value with its type (number, array…);
 * - `{ $each: "items", template: {...} }` yields one rendered template per element, with `item` and `index` in scope.
 * A missing field is an error naming the template, never an empty string sent to a customer.
 */
export class TemplateError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'TemplateError';
  }
}

const hb = Handlebars.create();
hb.registerHelper('default', (value: unknown, fallback: unknown) => (value === undefined || value === null || value === '' ? fallback : value));
hb.registerHelper('upper', (v: unknown) => String(v).toUpperCase());
hb.registerHelper('lower', (v: unknown) => String(v).toLowerCase());
hb.registerHelper('digits', (v: unknown) => String(v).replace(/\D/g, ''));
hb.registerHelper('fixed', (v: unknown, places: unknown) => Number(v).toFixed(typeof places === 'number' ? places : 2));
hb.registerHelper('truncate', (v: unknown, n: unknown) => {
  const s = String(v);
  const max = typeof n === 'number' ? n : 80;
  return s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s;
});

const SINGLE_PLACEHOLDER = /^\{\{\s*([A-Za-z_@][\w@]*(?:\.[\w@]+)*)\s*\}\}$/;
const compiled = new Map<string, HandlebarsTemplateDelegate>();

function compile(source: string): HandlebarsTemplateDelegate {
  let fn = compiled.get(source);
  if (!fn) {
    fn = hb.compile(source, { noEscape: true, strict: true });
    compiled.set(source, fn);
  }
  return fn;
}

function lookup(context: Record<string, unknown>, dotted: string): unknown {
  let value: unknown = context;
  for (const key of dotted.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function renderString(source: string, context: Record<string, unknown>, path: string): unknown {
  if (!source.includes('{{')) return source;
  const single = SINGLE_PLACEHOLDER.exec(source);
  if (single) {
    const value = lookup(context, single[1]!);
    if (value === undefined) throw new TemplateError(path, `"${source}": the event has no field ${single[1]}`);
    return value;
  }
  try {
    return compile(source)(context);
  } catch (e) {
    const what = e instanceof Error ? e.message.replace(/ - \d+:\d+$/, '') : String(e);
    throw new TemplateError(path, `"${source}": ${what}`);
  }
}

export function renderTemplate(node: unknown, context: Record<string, unknown>, path = 'message'): unknown {
  if (typeof node === 'string') return renderString(node, context, path);
  if (Array.isArray(node)) return node.map((n, i) => renderTemplate(n, context, `${path}[${i}]`));
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Record<string, unknown>;
  if ('$each' in obj) {
    const list = lookup(context, String(obj.$each));
    if (!Array.isArray(list)) throw new TemplateError(path, `$each: the event field ${String(obj.$each)} is not a list`);
    return list.map((item, index) => renderTemplate(obj.template, { ...context, item, index }, `${path}[${index}]`));
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, renderTemplate(v, context, `${path}.${k}`)]));
}

/** Syntax check at start-up: every template string compiles. */
export function checkTemplateSyntax(node: unknown, path = 'message'): string[] {
  const problems: string[] = [];
  const walk = (n: unknown, p: string) => {
    if (typeof n === 'string' && n.includes('{{')) {
      try { hb.precompile(n, { noEscape: true, strict: true }); } catch (e) {
        problems.push(`${p}: template does not compile: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    } else if (Array.isArray(n)) n.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (n && typeof n === 'object') for (const [k, v] of Object.entries(n)) walk(v, `${p}.${k}`);
  };
  walk(node, path);
  return problems;
}
