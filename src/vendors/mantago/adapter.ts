import { randomUUID } from 'node:crypto';
import type { MantagoConfig } from '../../config/env.js';
import { isVendorError, RetryableVendorError, type VendorError } from '../../delivery/errors.js';
import { VendorRateLimiter } from '../../delivery/rate-limiter.js';
import type { AdapterContext, Delivery, SendOutcome, VendorAdapter } from '../../delivery/types.js';
import { MantagoClient, type BroadcastRequest } from './client.js';
import { lostPairMessage, MantagoCredentialStore } from './credentials.js';
import { isClientNotFound, MANTAGO, MantagoCredentialsRejected } from './errors.js';
import type { MantagoPayload } from './payload.js';

/** MantaGO wants a label for every broadcast; used when the rule gives none. */
export const DEFAULT_BROADCAST_NAME = 'order-notify';

type D = Delivery<MantagoPayload>;

/**
 * MantaGO deliveries with the same content (platform, fbTag, name, and intentId or byte-identical text) share one
 * broadcast carrying all their clientIds. MantaGO answers one success for the whole broadcast and no per-recipient
 * ids, so every delivery of an accepted request is acknowledged with vendorMessageId undefined (a made-up id would
 * look like something MantaGO could look up) and `details.broadcast`, a local id shared by the request's deliveries.
 */
export function createMantagoAdapter(ctx: AdapterContext<MantagoConfig>): VendorAdapter<MantagoPayload> {
  const { config } = ctx;
  const client = new MantagoClient(ctx.http, config.baseUrl, config.botId, ctx.metrics);
  // The lock must outlive one refresh call, whatever the vendor timeout is.
  const lockTtlMs = Math.max(30_000, 3 * (ctx.http.defaults.timeout ?? 10_000));
  const store = new MantagoCredentialStore(ctx.redis, ctx.prefix, config.botId, { token: config.token, secret: config.secret }, { lockTtlMs });
  // Extra requests the adapter makes on its own (splitting a batch) take their slot from the same shared budget.
  const limiter = new VendorRateLimiter(ctx.redis, ctx.prefix, MANTAGO, config.rateLimit);
  const log = ctx.logger.child({ component: 'mantago-adapter' });
  /** Pair ids MantaGO refused, with the code: refreshAuth acts only if the store still holds a refused pair. */
  const refused = new Map<string, MantagoCredentialsRejected>();
  let refreshing: Promise<void> | undefined;
  let lostReported: string | undefined;

  /** One broadcast for these deliveries; throws a VendorError when MantaGO refuses it. */
  async function broadcast(batch: D[]): Promise<SendOutcome[]> {
    const first = batch[0]!.payload;
    const request: BroadcastRequest = {
      platform: first.platform,
      clientIds: batch.flatMap((d) => d.payload.clientIds),
      intentId: first.intentId,
      message: first.message,
      fbTag: first.fbTag,
      name: first.name ?? DEFAULT_BROADCAST_NAME,
    };
    const pair = await store.current();
    try {
      await client.broadcast(pair, request);
    } catch (e) {
      if (e instanceof MantagoCredentialsRejected) refused.set(pair.id, e);
      throw e;
    }
    const details = { broadcast: randomUUID(), recipients: request.clientIds.length };
    return batch.map(() => ({ ok: true as const, vendorMessageId: undefined, details }));
  }

  /**
   * A split-off request (its own rate-limit slot): failures become per-delivery outcomes so the deliveries already
   * acknowledged in other parts stay acknowledged. 37011 splits further until the unknown client stands alone.
   */
  async function sendPart(part: D[]): Promise<SendOutcome[]> {
    try {
      await limiter.acquire();
      return await broadcast(part);
    } catch (e) {
      if (part.length > 1 && isClientNotFound(e)) return splitAndSend(part);
      const error: VendorError = isVendorError(e) ? e : new RetryableVendorError(e instanceof Error ? e.message : String(e), { vendor: MANTAGO });
      return part.map(() => ({ ok: false as const, error }));
    }
  }

  /** Halving finds k unknown ids among n in about 2·k·log2(n) requests instead of n. */
  async function splitAndSend(batch: D[]): Promise<SendOutcome[]> {
    const mid = Math.ceil(batch.length / 2);
    return [...await sendPart(batch.slice(0, mid)), ...await sendPart(batch.slice(mid))];
  }

  return {
    maxBatch: config.batchMax,
    lingerMs: config.batchLingerMs,

    batchKey(p) {
      const content = p.intentId !== undefined ? { intentId: p.intentId } : { message: p.message };
      return JSON.stringify([p.platform, p.fbTag ?? null, p.name ?? null, content]);
    },

    async send(batch) {
      // A recipient listed twice in one broadcast may get one push for two orders: such deliveries go separately.
      const [head, ...rest] = roundsOfDistinctClients(batch);
      let first: SendOutcome[];
      try {
        first = await broadcast(head!);
      } catch (e) {
        // Nothing is acknowledged yet, so a whole-request failure goes to the worker (auth retry, 429 pause, backoff),
        // except "client not found" in a batch, which must not fail the other recipients.
        if (!(head!.length > 1 && isClientNotFound(e))) throw e;
        log.info({ recipients: head!.length }, 'client not found in a batch; splitting it to find the unknown client');
        first = await splitAndSend(head!);
      }
      const outcomes = new Map<D, SendOutcome>(head!.map((d, i) => [d, first[i]!]));
      for (const round of rest) {
        const answers = await sendPart(round);
        round.forEach((d, i) => outcomes.set(d, answers[i]!));
      }
      return batch.map((d) => outcomes.get(d)!);
    },

    /**
     * Called by the worker after an AuthExpiredVendorError. Re-reads the shared pair first: if it is no longer the
     * pair MantaGO refused, another replica has rotated it and re-reading was the whole refresh. Otherwise 1004 →
     * one replica refreshes under the Redis lock; 120000 → MantaGO already rotated, so only wait for the new pair.
     */
    async close() {
      // SIGTERM right after a refresh answer: the new pair is the only one that works; give its write a last chance.
      if (store.holdsUnstoredPair) await store.flush(5_000).catch((e: unknown) => log.error({ err: String(e), key: store.key }, 'exiting with a refreshed MantaGO pair not stored'));
    },

    refreshAuth() {
      refreshing ??= (async () => {
        const current = await store.current();
        const rejection = refused.get(current.id);
        refused.clear(); // older pair ids can never be current again
        if (!rejection) return;
        const mayRefresh = rejection.remedy === 'refresh';
        const result = await store.rotate(current.id, (stale) => client.refreshToken(stale), { mayRefresh });
        if (result === 'rotated') {
          ctx.metrics.tokenRefreshed(MANTAGO);
          log.info('MantaGO token refreshed; the new pair is stored in Redis for every replica');
        } else if (result === 'unchanged') {
          // 120000 with nothing newer in Redis (e.g. at start-up after the store was lost): nobody can fix this but a
          // person. One error line per lost pair, and every delivery's reason says what to do.
          if (lostReported !== current.id) log.error({ code: rejection.code, key: store.key }, lostPairMessage(store.key));
          lostReported = current.id;
          throw new RetryableVendorError(lostPairMessage(store.key), { vendor: MANTAGO, code: rejection.code });
        }
      })().finally(() => { refreshing = undefined; });
      return refreshing;
    },
  };
}

/**
 * Splits a batch into rounds in which no client id appears twice, keeping order; usually there is one round.
 */
function roundsOfDistinctClients(batch: D[]): D[][] {
  const rounds: Array<{ items: D[]; ids: Set<string> }> = [];
  for (const d of batch) {
    let round = rounds.find((r) => d.payload.clientIds.every((id) => !r.ids.has(id)));
    if (!round) rounds.push(round = { items: [], ids: new Set() });
    round.items.push(d);
    for (const id of d.payload.clientIds) round.ids.add(id);
  }
  return rounds.map((r) => r.items);
}
