import type { Telemetry } from 'bullmq';

/**
 * The tracing seam the rest of the code uses. It imports no OpenTelemetry package: when tracing is off (the
 * default) every call goes to NO_TRACING and costs a function call; the SDK is loaded with a dynamic import only
 * when an OTEL_* variable asks for traces (startTracing), so the producer package and idle processes load nothing.
 */

/** Plain values only. Callers never pass personal data or secrets (docs/tracing.md lists what is recorded). */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;
export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface TraceSpan {
  setAttributes(attributes: SpanAttributes): void;
  addEvent(name: string, attributes?: SpanAttributes): void;
  /** Marks the span failed with a reason a person can act on (scrubbed like log lines). */
  fail(reason: string, type?: string): void;
  /** This span's W3C trace context, serialised the way BullMQ carries it in job options. */
  carrier(): string | undefined;
}

/** A span the caller ends itself (several open at once, e.g. one per order of a bulk enqueue). */
export interface OpenSpan extends TraceSpan {
  end(): void;
}

export interface StartSpanOptions {
  kind?: SpanKindName;
  attributes?: SpanAttributes;
  /** Parent taken from a carrier (job options, a pending Twin24 message, HTTP headers) instead of the active span. */
  parent?: string;
  /** Starts a new trace (each order of a bulk enqueue gets its own). */
  root?: boolean;
  /** Carriers of other spans this one serves (the deliveries sharing one batched vendor request). */
  links?: Array<string | undefined>;
}

export interface FinishedSpan extends StartSpanOptions {
  /** Epoch milliseconds. */
  startTime: number;
  endTime: number;
  /** Set when the operation failed; the span gets status ERROR with this text (scrubbed). */
  error?: string;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Handed to BullMQ queues and workers (bullmq-otel): their spans and the context carried in each job. */
  readonly telemetry?: Telemetry;
  /** Runs fn inside a new span (active for everything fn awaits) and ends it; a throw marks it failed. */
  span<T>(name: string, opts: StartSpanOptions, fn: (span: TraceSpan) => Promise<T>): Promise<T>;
  /** Starts a span that is not made active; the caller must end() it. */
  start(name: string, opts: StartSpanOptions): OpenSpan;
  /** An operation timed elsewhere (a vendor HTTP call measured by its client), as a child of the active span. */
  recordSpan(name: string, span: FinishedSpan): void;
  /** The active context as a carrier; undefined when off or when nothing is being traced. */
  activeCarrier(): string | undefined;
  /** Exports what is buffered and stops (process shutdown). */
  shutdown(): Promise<void>;
}

const NOOP_SPAN: OpenSpan = { setAttributes() {}, addEvent() {}, fail() {}, carrier: () => undefined, end() {} };

export const NO_TRACING: Tracing = {
  enabled: false,
  span: (_name, _opts, fn) => fn(NOOP_SPAN),
  start: () => NOOP_SPAN,
  recordSpan() {},
  activeCarrier: () => undefined,
  shutdown: async () => {},
};

/**
 * Tracing is on when the standard variables ask for it: OTEL_TRACES_EXPORTER (anything but `none`), or an OTLP
 * endpoint. OTEL_SDK_DISABLED=true wins over both, as the specification says.
 */
export function tracingRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters) return exporters.split(',').some((e) => e.trim() && e.trim() !== 'none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

export interface StartTracingOptions {
  env: NodeJS.ProcessEnv;
  /** service.name when OTEL_SERVICE_NAME is not set, e.g. `order-notify-fanout`. */
  serviceName: string;
  /** Scrubs every string the spans carry (the process's Redactor.text). */
  scrub?: (text: string) => string;
  /** Tests pass an in-memory exporter here instead of the exporters OTEL_TRACES_EXPORTER names. */
  exporter?: unknown;
}

/** Starts the SDK (only now are its modules loaded) and registers it globally; NO_TRACING when not requested. */
export async function startTracing(opts: StartTracingOptions): Promise<Tracing> {
  if (!opts.exporter && !tracingRequested(opts.env)) return NO_TRACING;
  const { startOtelSdk } = await import('./tracing-sdk.js');
  return startOtelSdk(opts);
}

/**
 * Tracing through whatever OpenTelemetry SDK the host process registered (a monolith using the producer), or
 * NO_TRACING when the environment does not ask for traces. Loads only the OpenTelemetry API and bullmq-otel.
 */
export async function hostTracing(env: NodeJS.ProcessEnv = process.env): Promise<Tracing> {
  if (!tracingRequested(env)) return NO_TRACING;
  const { otelTracing } = await import('./tracing-otel.js');
  return otelTracing({});
}
