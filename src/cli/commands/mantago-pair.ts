import { loadConfig } from '../../config/env.js';
import { RedisUnavailableError } from '../../producer/producer.js';
import { createRedis, waitReady } from '../../queues/connection.js';
import { EXIT, type ExitCode } from '../../runtime/exit-codes.js';
import { MantagoCredentialStore, storePair } from '../../vendors/mantago/credentials.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { vendorGroup } from '../../queues/names.js';

/**
 * `mantago-set-pair`: after a lost pair (MantaGO retired it, Redis never got the new one), an operator fetches a new
 * token+secret from MantaGO and stores it here; every replica reads it on its next request. Values come from the
 * environment so they stay out of shell history and process lists; only the pair id (a hash) is printed.
 */
export async function mantagoSetPairCommand(io: CliIO, opts: { json?: boolean }): Promise<ExitCode> {
  const token = io.env.MANTAGO_NEW_TOKEN?.trim();
  const secret = io.env.MANTAGO_NEW_SECRET?.trim();
  if (!token || !secret) throw new UsageError('set MANTAGO_NEW_TOKEN and MANTAGO_NEW_SECRET to the new pair MantaGO gave you');
  const config = loadConfig(io.env);
  const mantago = config.vendors.mantago;
  if (!mantago) throw new UsageError('MantaGO is not configured here (MANTAGO_BOT_ID, MANTAGO_TOKEN, MANTAGO_SECRET)');
  const connection = createRedis(config.redis, 'producer');
  connection.on('error', () => {});
  try {
    await waitReady(connection, 3_000).catch((e: unknown) => { throw new RedisUnavailableError(e); });
    const store = new MantagoCredentialStore(connection, config.keys.beside(vendorGroup('mantago')), mantago.botId, { token: mantago.token, secret: mantago.secret });
    const id = await storePair(connection, store.key, { token, secret });
    io.stdout.write(opts.json ? `${JSON.stringify({ stored: true, pairId: id })}\n` : `stored the new MantaGO pair (id ${id}) for bot ${mantago.botId}\n`);
    return EXIT.ok;
  } finally {
    connection.disconnect();
  }
}
