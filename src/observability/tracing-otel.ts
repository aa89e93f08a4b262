import {
  context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace,
  type Attributes, type Context, type Link, type Span,
} from '@opentelemetry/api';
import type { Telemetry } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import type { FinishedSpan, SpanAttributes, SpanKindName, StartSpanOptions, TraceSpan, Tracing } from './tracing.js';

/**
 * The Tracing seam over the OpenTelemetry API (loaded only when tracing is on). BullMQ's own spans come from
 * bullmq-otel; its span wrapper is wrapped once more so that every text BullMQ records (a failed job's reason, an
 * exception) is scrubbed like a log line before it leaves the process.
 */

export const TRACER_NAME = 'order-notify';
const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL, server: SpanKind.SERVER, client: SpanKind.CLIENT, producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER,
};

export interface OtelTracingOptions {
  scrub?: (text: string) => string;
  shutdown?: () => Promise<void>;
}

export function otelTracing(opts: OtelTracingOptions): Tracing {
  const scrub = opts.scrub ?? ((s: string) => s);
  const tracer = trace.getTracer(TRACER_NAME);
  const clean = (attributes: SpanAttributes | undefined): Attributes => {
    const out: Attributes = {};
    for (const [k, v] of Object.entries(attributes ?? {})) if (v !== undefined) out[k] = typeof v === 'string' ? scrub(v) : v;
    return out;
  };
  const parentOf = (o: StartSpanOptions): Context =>
    (o.root ? ROOT_CONTEXT : o.parent !== undefined ? fromCarrier(o.parent) ?? context.active() : context.active());
  const linksOf = (carriers: StartSpanOptions['links']): Link[] => (carriers ?? []).flatMap((c) => {
    const spanContext = c === undefined ? undefined : trace.getSpanContext(fromCarrier(c) ?? ROOT_CONTEXT);
    return spanContext ? [{ context: spanContext }] : [];
  });
  const handle = (span: Span, ctx: Context): TraceSpan => ({
    setAttributes: (a) => span.setAttributes(clean(a)),
    addEvent: (name, a) => span.addEvent(name, clean(a)),
    fail: (reason, type) => {
      span.setStatus({ code: SpanStatusCode.ERROR, message: scrub(reason) });
      if (type) span.setAttribute('error.type', type);
    },
    carrier: () => toCarrier(ctx),
  });

  return {
    enabled: true,
    telemetry: scrubbingTelemetry(new BullMQOtel({ tracerName: 'bullmq' }), scrub),
    async span(name, o, fn) {
      const parent = parentOf(o);
      const span = tracer.startSpan(name, { kind: KINDS[o.kind ?? 'internal'], attributes: clean(o.attributes), links: linksOf(o.links) }, parent);
      const ctx = trace.setSpan(parent, span);
      const h = handle(span, ctx);
      try {
        return await context.with(ctx, () => fn(h));
      } catch (e) {
        h.fail(e instanceof Error ? e.message : String(e), e instanceof Error ? e.name : undefined);
        throw e;
      } finally {
        span.end();
      }
    },
    start(name, o) {
      const parent = parentOf(o);
      const span = tracer.startSpan(name, { kind: KINDS[o.kind ?? 'internal'], attributes: clean(o.attributes), links: linksOf(o.links) }, parent);
      return { ...handle(span, trace.setSpan(parent, span)), end: () => span.end() };
    },
    recordSpan(name, f: FinishedSpan) {
      const span = tracer.startSpan(name, {
        kind: KINDS[f.kind ?? 'internal'], attributes: clean(f.attributes), links: linksOf(f.links), startTime: f.startTime,
      }, parentOf(f));
      if (f.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: scrub(f.error) });
      span.end(f.endTime);
    },
    activeCarrier: () => (trace.getSpan(context.active()) ? toCarrier(context.active()) : undefined),
    shutdown: opts.shutdown ?? (async () => {}),
  };
}

/** W3C traceparent/tracestate as JSON: the same format bullmq-otel stores in job options. */
function toCarrier(ctx: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent ? JSON.stringify(carrier) : undefined;
}

function fromCarrier(carrier: string): Context | undefined {
  try {
    const parsed: unknown = JSON.parse(carrier);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const ctx = propagation.extract(ROOT_CONTEXT, parsed);
    return trace.getSpanContext(ctx) ? ctx : undefined;
  } catch {
    return undefined; // a hand-edited job or record: traced as a new trace rather than failing the work
  }
}

type BullSpan = ReturnType<Telemetry['tracer']['startSpan']>;

function scrubbingTelemetry(inner: Telemetry, scrub: (s: string) => string): Telemetry {
  const value = <T>(v: T): T => (typeof v === 'string' ? scrub(v) as T : v);
  const wrap = (span: BullSpan): BullSpan => ({
    setSpanOnContext: (ctx) => span.setSpanOnContext(ctx),
    setAttribute: (k, v) => span.setAttribute(k, value(v)),
    setAttributes: (attrs) => span.setAttributes(Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, value(v)]))),
    addEvent: (name, attrs) => span.addEvent(name, attrs && Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, value(v)]))),
    recordException: (e, time) => span.recordException(typeof e === 'string' ? scrub(e)
      : { name: e.name ?? 'Error', message: scrub(e.message ?? ''), code: e.code, stack: e.stack === undefined ? undefined : scrub(e.stack) } as never, time),
    end: () => span.end(),
  });
  return {
    tracer: { startSpan: (name, options, ctx) => wrap(inner.tracer.startSpan(name, options, ctx)) },
    contextManager: inner.contextManager,
    meter: inner.meter,
  };
}
