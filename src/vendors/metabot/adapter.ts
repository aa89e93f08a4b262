import type { MetabotConfig } from '../../config/env.js';
import type { AdapterContext, Delivery, SendOutcome, VendorAdapter } from '../../delivery/types.js';
import { MetabotClient } from './client.js';
import type { MetabotPayload } from './payload.js';

/**
 * One Metabot job per delivery (the API schedules one job per call), so there is no batching. Failures are thrown
 * as the shared VendorError taxonomy and the generic worker maps them.
 */
export function createMetabotAdapter(ctx: AdapterContext<MetabotConfig>): VendorAdapter<MetabotPayload> {
  const client = new MetabotClient(ctx.config, ctx.http, ctx.metrics);
  return {
    maxBatch: 1,
    lingerMs: 0,
    async send(batch: Array<Delivery<MetabotPayload>>): Promise<SendOutcome[]> {
      const outcomes: SendOutcome[] = [];
      // maxBatch is 1, so this is one request; the loop only keeps the contract honest.
      for (const delivery of batch) {
        const scheduled = await client.schedule(delivery.payload);
        outcomes.push({ ok: true, vendorMessageId: scheduled.jobId });
      }
      return outcomes;
    },
  };
}
