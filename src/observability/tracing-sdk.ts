import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-node';
import type { StartTracingOptions, Tracing } from './tracing.js';
import { otelTracing } from './tracing-otel.js';

/**
 * The OpenTelemetry SDK for one order-notify process, configured by the standard variables: OTEL_TRACES_EXPORTER
 * (`otlp` default, `console`, `none`), OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT / _HEADERS / _TIMEOUT (OTLP over HTTP),
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*. The SDK reads most of them
 * itself; only the exporter list is ours to read, since sdk-trace-node leaves that to sdk-node (which would also
 * pull in gRPC, metrics and logs exporters we do not use).
 */
export function startOtelSdk(opts: StartTracingOptions): Tracing {
  const { env } = opts;
  // Export failures (collector down) are worth one warning each, never a crash or a log flood.
  diag.setLogger(quietDiag(), DiagLogLevel.WARN);
  const processors: SpanProcessor[] = [];
  if (opts.exporter) {
    processors.push(new SimpleSpanProcessor(opts.exporter as SpanExporter));
  } else {
    const names = (env.OTEL_TRACES_EXPORTER?.trim() || 'otlp').split(',').map((n) => n.trim()).filter(Boolean);
    for (const name of new Set(names)) {
      if (name === 'otlp') processors.push(new BatchSpanProcessor(new OTLPTraceExporter()));
      else if (name === 'console') processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
      else if (name !== 'none') process.stderr.write(`OTEL_TRACES_EXPORTER: "${name}" is not supported here (otlp, console, none); ignored\n`);
    }
  }
  const resource = resourceFromAttributes({ 'service.name': opts.serviceName, 'service.namespace': 'order-notify' })
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new NodeTracerProvider({ resource, spanProcessors: processors });
  // AsyncLocalStorage context manager and the W3C trace-context propagator, as every OpenTelemetry SDK uses.
  provider.register();
  return otelTracing({ scrub: opts.scrub, shutdown: () => provider.shutdown().catch(() => undefined) });
}

function quietDiag(): DiagLogger {
  const seen = new Set<string>();
  const warn = (message: string) => {
    if (seen.has(message) || seen.size > 20) return;
    seen.add(message);
    process.stderr.write(`opentelemetry: ${message}\n`);
  };
  return { error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} };
}
