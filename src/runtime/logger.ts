import pino, { type Logger } from 'pino';
import { Redactor } from './redact.js';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  name?: string;
  redactor?: Redactor;
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

/**
 * JSON logs (one line per event) that never carry secrets or raw contact data. Three layers, because pino has
 * three ways in: the logged object (formatters.log), child bindings (formatters.bindings) and the message
 * (logMethod); the finished line is scrubbed once more for the secret values the process knows.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const redactor = opts.redactor ?? new Redactor();
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // The Redactor already turned errors into plain { type, message, stack, ... }; pino's own serializer
      // would rename them "Object".
      serializers: { err: (value: unknown) => value },
      formatters: {
        level: (label) => ({ level: label }),
        bindings: (bindings) => redactor.value(bindings) as Record<string, unknown>,
        log: (obj) => redactor.value(obj) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a, i) => (typeof a === 'string' ? redactor.text(a) : i > 0 ? redactor.value(a) : a));
          // logger.error(err) and logger.error({ err }) make pino take err.message as the message, unscrubbed.
          const first = args[0];
          if (args.length === 1 && typeof first === 'object' && first !== null) {
            const err = first instanceof Error ? first : (first as { err?: unknown }).err;
            if (err instanceof Error) scrubbed.push(redactor.text(err.message));
          }
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
        streamWrite: (line) => redactor.text(line),
      },
    },
    opts.destination,
  );
}
