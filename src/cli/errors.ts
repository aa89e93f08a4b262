import { ConfigError, loadConfig, type AppConfig } from '../config/env.js';
import { secretValues } from '../config/secrets.js';
import { InvalidEventError } from '../events/order-paid.js';
import { RedisUnavailableError } from '../producer/producer.js';
import { EXIT, StartupError, type ExitCode } from '../runtime/exit-codes.js';
import { Redactor } from '../runtime/redact.js';
import type { CliIO } from './io.js';

/** A problem with what the user typed (exit 1), with a message that says what to change. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Runs one command and turns every known failure into its message and exit code; nothing escapes as a stack trace. */
export async function runCommand(io: CliIO, command: () => Promise<ExitCode>): Promise<ExitCode> {
  try {
    return await command();
  } catch (e) {
    if (e instanceof ConfigError) return fail(io, e.message, EXIT.config);
    if (e instanceof StartupError) return fail(io, e.message, e.exitCode);
    if (e instanceof RedisUnavailableError) return fail(io, `${e.message} (check REDIS_URL)`, EXIT.redisUnavailable);
    if (e instanceof InvalidEventError) {
      return fail(io, `invalid order.paid event:\n${e.fieldErrors.map((f) => `  - ${f.field}: ${f.message}`).join('\n')}`, EXIT.failure);
    }
    if (e instanceof UsageError) return fail(io, e.message, EXIT.failure);
    return fail(io, `error: ${new Redactor().text(e instanceof Error ? e.message : String(e))}`, EXIT.failure);
  }
}

function fail(io: CliIO, message: string, code: ExitCode): ExitCode {
  io.stderr.write(`${message}\n`);
  return code;
}

/** The same configuration the workers use (REDIS_URL, QUEUE_PREFIX, ...), and a redactor for anything printed. */
export function cliConfig(io: CliIO): { config: AppConfig; redactor: Redactor } {
  const config = loadConfig(io.env);
  return { config, redactor: new Redactor(secretValues(config)) };
}
