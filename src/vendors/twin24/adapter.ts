import type { Twin24Config } from '../../config/env.js';
import { PendingMessages } from './correlation/pending.js';
import { AuthExpiredVendorError, PermanentVendorError, RetryableVendorError } from '../../delivery/errors.js';
import type { AdapterContext, Delivery, SendOutcome, VendorAdapter } from '../../delivery/types.js';
import { createTwin24Auth } from './auth.js';
import { Twin24NotifyClient, type Twin24Message, type Twin24SendEntry } from './client.js';
import { VENDOR } from './errors.js';
import type { Twin24Payload } from './payload.js';
import { PendingWriter } from './pending-writer.js';

/**
 * Twin24 WhatsApp sends. Deliveries that share the message (bot, chat, session name, text template, callback)
 * become ONE request with one destination each; per-destination `variables` personalise the text on Twin24's side.
 * Acknowledged message ids go to the pending set, where the correlator picks them up.
 */
export function createTwin24Adapter(ctx: AdapterContext<Twin24Config>): VendorAdapter<Twin24Payload> {
  const { config } = ctx;
  const auth = createTwin24Auth(ctx);
  const client = new Twin24NotifyClient({ http: ctx.http, metrics: ctx.metrics }, config.notifyUrl);
  const pending = new PendingWriter(new PendingMessages(ctx.redis, ctx.prefix));
  /** The token last refused as expired: what refreshAuth asks to replace (a newer one may already exist). */
  let expiredToken: string | undefined;

  const shared = (p: Twin24Payload) => ({
    chatId: p.chatId ?? config.chatId,
    botId: p.botId ?? config.botId,
    chatSessionName: p.chatSessionName,
    text: p.text,
    callbackUrl: p.callbackUrl,
    callbackData: p.callbackData,
  });

  return {
    maxBatch: config.batchMax,
    lingerMs: config.batchLingerMs,

    batchKey(payload) {
      const s = shared(payload);
      return JSON.stringify([s.botId, s.chatId, s.chatSessionName, s.text, s.callbackUrl ?? null, s.callbackData ?? null]);
    },

    async send(batch) {
      const first = batch[0];
      if (!first) return [];
      const message: Twin24Message = { ...shared(first.payload), destinations: batch.map((d) => d.payload.destination) };
      const token = await auth.token();
      try {
        const entries = await client.send(token, message);
        return entries.map(outcomeOf);
      } catch (e) {
        if (e instanceof AuthExpiredVendorError) expiredToken = token;
        throw e;
      }
    },

    async refreshAuth() {
      await auth.refresh(expiredToken ?? (await auth.token()));
    },

    async afterAcknowledged(delivery: Delivery<Twin24Payload>, outcome) {
      if (outcome.vendorMessageId === undefined) return;
      const { deliveryId, orderId, ruleId } = delivery;
      // A rule may send through another chat than the configured one; its sessions are looked up there.
      const channelChatId = delivery.payload.chatId;
      await pending.add({ messageId: outcome.vendorMessageId, deliveryId, orderId, ruleId, sentAt: Date.now(), ...(channelChatId ? { channelChatId } : {}), ...(delivery.trace ? { trace: delivery.trace } : {}) });
    },
  };
}

/** One answer entry → that delivery's outcome; an error there concerns that destination alone. */
function outcomeOf(entry: Twin24SendEntry): SendOutcome {
  if (entry.error) {
    const { code, message } = entry.error;
    return { ok: false, error: new PermanentVendorError(message ?? 'destination refused', { vendor: VENDOR, code }) };
  }
  if (!entry.id) {
    return { ok: false, error: new RetryableVendorError('send: answer entry has neither id nor error', { vendor: VENDOR }) };
  }
  return { ok: true, vendorMessageId: entry.id };
}
