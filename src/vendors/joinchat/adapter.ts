import type { JoinchatConfig } from '../../config/env.js';
import type { AdapterContext, Delivery, SendOutcome, VendorAdapter } from '../../delivery/types.js';
import { JoinchatClient } from './client.js';
import type { JoinchatPayload } from './payload.js';

/**
 * JoinChat sends one message to one recipient per request, so there is no batching: every delivery is its own
 * signed request. A failure is thrown as the shared VendorError taxonomy and the generic worker maps it.
 */
export function createJoinchatAdapter(ctx: AdapterContext<JoinchatConfig>): VendorAdapter<JoinchatPayload> {
  const client = new JoinchatClient(ctx.config, ctx.http, ctx.metrics);
  return {
    maxBatch: 1,
    lingerMs: 0,
    async send(batch: Array<Delivery<JoinchatPayload>>): Promise<SendOutcome[]> {
      const outcomes: SendOutcome[] = [];
      // maxBatch is 1, so this is one request; the loop only keeps the contract honest.
      for (const delivery of batch) {
        const sent = await client.send(delivery.payload);
        if (sent.unexpectedAnswer) {
          ctx.logger.warn({ vendor: 'joinchat', orderId: delivery.orderId, ruleId: delivery.ruleId, answer: sent.unexpectedAnswer }, 'joinchat answered 2xx in an unknown shape; counted as sent');
        }
        outcomes.push({ ok: true, vendorMessageId: sent.recipientId, ...(sent.unexpectedAnswer ? { details: { unexpectedAnswer: sent.unexpectedAnswer } } : {}) });
      }
      return outcomes;
    },
  };
}
