import type { AdapterContext, Delivery, SendOutcome, VendorAdapter } from '../../delivery/types.js';
import { HttpVendorClient } from './client.js';
import type { HttpVendorConfig } from './config.js';
import type { HttpPayload } from './payload.js';

/** One request per delivery (batching off: a gateway's batch format is not known). */
export function createHttpVendorAdapter(ctx: AdapterContext<HttpVendorConfig>): VendorAdapter<HttpPayload> {
  const client = new HttpVendorClient(ctx.config, ctx.http, ctx.metrics);
  return {
    maxBatch: 1,
    lingerMs: 0,
    async send(batch: Array<Delivery<HttpPayload>>): Promise<SendOutcome[]> {
      const outcomes: SendOutcome[] = [];
      for (const delivery of batch) {
        const sent = await client.send(delivery.deliveryId, delivery.payload);
        outcomes.push({ ok: true, vendorMessageId: sent.messageId });
      }
      return outcomes;
    },
  };
}
