import pino, { type Logger } from 'pino';
import { Redactor } from './redact.js';

export type { Logger };

/**
 * JSON logs (one line per event) that never carry secrets or raw contact data: every object logged goes through
 * the Redactor, which knows the configured secret values too.
 */
export function createLogger(opts: { level?: string; name?: string; redactor?: Redactor; destination?: pino.DestinationStream } = {}): Logger {
  const redactor = opts.redactor ?? new Redactor();
  return pino(
    {
      level: opts.level ?? 'info',
      name: opts.name,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => redactor.value(obj) as Record<string, unknown>,
      },
      hooks: {
        // Messages are scrubbed too: an error text may quote a request body.
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? redactor.text(a) : a)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
    },
    opts.destination,
  );
}
