import { startSandbox } from '../../sandbox/index.js';
import { EXIT, type ExitCode } from '../../runtime/exit-codes.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';

/**
 * `sandbox`: the strict local vendors alone. Prints one JSON line (url, per-vendor URLs, the credentials it
 * accepts) and runs until SIGINT/SIGTERM.
 */
export async function sandboxCommand(io: CliIO, opts: { port: string; host: string }): Promise<ExitCode> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be 0-65535, got "${opts.port}"`);
  const sandbox = await startSandbox({ port, host: opts.host, logger: false });
  io.stdout.write(`${JSON.stringify({ url: sandbox.url, urls: sandbox.urls, credentials: sandbox.credentials })}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sandbox.close();
  return EXIT.ok;
}
