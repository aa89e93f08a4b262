import { parseArgs } from 'node:util';
import { startSandbox } from './index.js';

/**
 * Runs the sandbox on its own: `tsx src/sandbox/cli.ts --port 4010`.
 * stdout carries exactly one JSON line once it listens ({ url, urls, credentials }) so a parent process can read
 * it; the per-request log goes to stderr.
 */

const USAGE = `Usage: sandbox [--port 4010] [--host 127.0.0.1] [--pending-after-ms 200] [--final-after-ms 500]
               [--result-after-ms 300] [--twin24-limit-cap 1000] [--twin24-require-chat-id] [--quiet]
  --twin24-limit-cap         the most statistics items one page holds, whatever limit a client asks for
  --twin24-require-chat-id   refuse sessions queries without chatId (the seed's step 3 always sends one)`;

function nonNegativeInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`--${name} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  const n = nonNegativeInt(name, value);
  if (n === 0) throw new Error(`--${name} must be at least 1`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4010' },
      host: { type: 'string', default: '127.0.0.1' },
      'pending-after-ms': { type: 'string' },
      'final-after-ms': { type: 'string' },
      'result-after-ms': { type: 'string' },
      'twin24-limit-cap': { type: 'string' },
      'twin24-require-chat-id': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }

  const sandbox = await startSandbox({
    port: nonNegativeInt('port', values.port),
    host: values.host,
    twin24: {
      pendingAfterMs: nonNegativeInt('pending-after-ms', values['pending-after-ms']),
      finalAfterMs: nonNegativeInt('final-after-ms', values['final-after-ms']),
      resultAfterMs: nonNegativeInt('result-after-ms', values['result-after-ms']),
      limitCap: positiveInt('twin24-limit-cap', values['twin24-limit-cap']),
      requireSessionChatId: values['twin24-require-chat-id'],
    },
    logger: values.quiet
      ? false
      : { info: (obj, msg) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...obj })}\n`) },
  });
  process.stdout.write(`${JSON.stringify({ url: sandbox.url, urls: sandbox.urls, credentials: sandbox.credentials, pid: process.pid })}\n`);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    // Keep-alive clients cannot hold the exit hostage.
    setTimeout(() => process.exit(1), 5_000).unref();
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`sandbox: close failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`sandbox: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(1);
});
