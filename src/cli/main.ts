import { Command, CommanderError } from 'commander';
import { EXIT, EXIT_CODES_HELP, type ExitCode } from '../runtime/exit-codes.js';
import { processIO, sanitizedIO, type CliIO } from './io.js';

// Commands are imported when they run: BullMQ, zod, fastify and the vendor clients cost seconds of start-up that
// `--help` or `order` should not pay for.

const ENV_HELP = `
Configuration comes from the environment (REDIS_URL, QUEUE_PREFIX, vendor
credentials, ...), exactly as the workers read it.

${EXIT_CODES_HELP}`;

/**
 * Builds the `order-notify` program; `setCode` receives each action's exit code. `components` is the list `start`
 * accepts (read from WORKER_COMPONENTS at call time, so a component added later shows up by itself).
 */
export function buildProgram(rawIO: CliIO, setCode: (code: ExitCode) => void, components: readonly string[] = []): Command {
  const io = sanitizedIO(rawIO);
  const run = (command: () => Promise<ExitCode>) => import('./errors.js').then(({ runCommand }) => runCommand(io, command)).then(setCode);
  const program = new Command('order-notify')
    .description('Turns order.paid events into chat messages through MantaGO, JoinChat, Metabot and Twin24 (BullMQ on Redis).')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', ENV_HELP);

  program.command('start')
    .summary('run workers and/or the HTTP API in this process')
    .description(`Run components in this one process until SIGTERM/SIGINT; on a signal, active
jobs get SHUTDOWN_TIMEOUT to finish, then it exits 0.
Components: ${components.join(', ')}.
None, or "all", runs every one of them; then, when REDIS_URL is unset and nothing answers
on 127.0.0.1:6379 it starts an embedded redis-server, vendors without credentials go to
the built-in sandbox, and a fully local run enqueues the example orders and prints a
summary (npm start). With "api", HTTP_PORT also serves
/healthz, /readyz and /metrics; otherwise METRICS_PORT does.`)
    .argument('[component...]', 'components to run (default: all)')
    .addHelpText('after', ENV_HELP)
    .action(async (names: string[]) => {
      const all = names.length === 0 || (names.length === 1 && names[0] === 'all');
      if (all) {
        // Nothing named: out of the box when Redis or vendor credentials are missing (embedded Redis, sandbox).
        const { runStart } = await import('../quickstart/start.js');
        await runStart(io.env);
      } else {
        const { runProcess } = await import('../app/worker-process.js');
        await runProcess(names, { env: io.env });
      }
      setCode(EXIT.ok); // keeps running; runProcess exits the process on a start-up problem or after shutdown
    });

  program.command('outbox-relay')
    .summary('relay committed rows of the outbox table into the queue (same as `start outbox-relay`)')
    .description(`Move committed order.paid rows from the monolith's outbox table (PostgreSQL or
MySQL/MariaDB, OUTBOX_DATABASE_URL) into the queue until SIGTERM/SIGINT; probes and
/metrics on METRICS_PORT. See docs/outbox.md for the table and the settings.`)
    .addHelpText('after', ENV_HELP)
    .action(async () => {
      const { runProcess } = await import('../app/worker-process.js');
      await runProcess(['outbox-relay'], { env: io.env });
      setCode(EXIT.ok);
    });

  program.command('enqueue')
    .summary('validate and enqueue order.paid events from a JSON file')
    .description(`Validate and enqueue order.paid events from a JSON file ("-" reads stdin):
one event or an array (all are validated before any is enqueued). Prints the
job id per event and whether it was a duplicate (that order id was already
enqueued within IDEMPOTENCY_WINDOW). Invalid input: exit 1, listing each field.`)
    .argument('<file>', 'JSON file, or - for stdin')
    .option('--json', 'print one JSON object per event')
    .addHelpText('after', ENV_HELP)
    .action((file: string, opts: { json?: boolean }) => run(async () => (await import('./commands/enqueue.js')).enqueueCommand(io, file, opts)));

  program.command('order')
    .summary('show the per-order record (deliveries, statuses, results)')
    .description('Show what happened to an order: every delivery, its status, vendor ids, Twin24 chat id and result.')
    .argument('<orderId>', 'the order id the shop sent')
    .option('--json', 'print the record as JSON')
    .addHelpText('after', ENV_HELP)
    .action((orderId: string, opts: { json?: boolean }) => run(async () => (await import('./commands/order.js')).orderCommand(io, orderId, opts)));

  program.command('failed')
    .summary('list failed delivery jobs with reasons')
    .description('List failed delivery jobs (newest first) with the reason.')
    .option('--vendor <vendor>', "only this vendor's queue (mantago, joinchat, ...)")
    .option('--limit <n>', 'show at most n jobs', '50')
    .option('--json', 'print JSON')
    .addHelpText('after', ENV_HELP)
    .action((opts: { vendor?: string; limit: string; json?: boolean }) => run(async () => (await import('./commands/failed.js')).failedCommand(io, opts)));

  program.command('retry-failed')
    .summary('move failed delivery jobs back to wait')
    .description('Move failed delivery jobs back to wait, with a fresh set of attempts. Prints how many.')
    .option('--vendor <vendor>', "only this vendor's queue (mantago, joinchat, ...)")
    .option('--json', 'print JSON')
    .addHelpText('after', ENV_HELP)
    .action((opts: { vendor?: string; json?: boolean }) => run(async () => (await import('./commands/retry-failed.js')).retryFailedCommand(io, opts)));

  const held = program.command('held')
    .summary('deliveries held after an unknown outcome (routes with onUnknownOutcome: hold)')
    .description('A delivery is held when an earlier request got no answer (worker killed, deadline) and its route says\nonUnknownOutcome: hold. List them, then release each: --send sends it again, --drop records it dropped.');
  held.command('list')
    .description('List held deliveries, oldest first.')
    .option('--vendor <vendor>', 'only this vendor')
    .option('--json', 'print JSON')
    .addHelpText('after', ENV_HELP)
    .action((opts: { vendor?: string; json?: boolean }) => run(async () => (await import('./commands/held.js')).heldListCommand(io, opts)));
  held.command('release')
    .description('Release one held delivery: --send (queue it again) or --drop (record it dropped). Exit 3 when not held.')
    .argument('<deliveryId>', 'the DELIVERY column of "held list"')
    .option('--send', 'send it again (the earlier request may have arrived)')
    .option('--drop', 'do not send it; record it dropped')
    .option('--json', 'print JSON')
    .addHelpText('after', ENV_HELP)
    .action((id: string, opts: { send?: boolean; drop?: boolean; json?: boolean }) => run(async () => (await import('./commands/held.js')).heldReleaseCommand(io, id, opts)));

  program.command('mantago-set-pair')
    .summary('store a new MantaGO token+secret pair for every replica (after the pair was lost)')
    .description('Reads MANTAGO_NEW_TOKEN and MANTAGO_NEW_SECRET from the environment (never from arguments, which\nland in shell history) and stores them as the pair every worker uses. Workers pick it up on their next request.')
    .option('--json', 'print JSON')
    .addHelpText('after', ENV_HELP)
    .action((opts: { json?: boolean }) => run(async () => (await import('./commands/mantago-pair.js')).mantagoSetPairCommand(io, opts)));

  program.command('sandbox')
    .summary('serve the local vendor sandbox alone')
    .description('Serve the local vendor sandbox alone (strict imitations of the four vendors).\nPrints its URLs and credentials as one JSON line; runs until SIGINT/SIGTERM.')
    .option('--port <port>', 'port (0 = any free port)', '4010')
    .option('--host <host>', 'bind address', '127.0.0.1')
    .addHelpText('after', `\n${EXIT_CODES_HELP}`)
    .action((opts: { port: string; host: string }) => run(async () => (await import('./commands/sandbox.js')).sandboxCommand(io, opts)));

  return program;
}

/** Runs the CLI; resolves with the exit code (for `start`, once the process is up and running). */
export async function main(argv: string[], io: CliIO = processIO()): Promise<ExitCode> {
  let code: ExitCode = EXIT.ok;
  // Only `start` (and its help) lists the components, and reading them loads every worker: skip it otherwise.
  const components = argv.includes('start') ? (await import('../app/worker-process.js')).processComponents() : [];
  const program = buildProgram(io, (c) => { code = c; }, components);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.failure;
    throw e;
  }
  return code;
}
