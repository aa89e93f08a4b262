import type { MetabotConfig } from '../../config/env.js';
import type { AdapterContext, VendorAdapter } from '../../delivery/types.js';
import type { MetabotPayload } from './payload.js';

// Placeholder until the metabot client lands.
export function createMetabotAdapter(_ctx: AdapterContext<MetabotConfig>): VendorAdapter<MetabotPayload> {
  throw new Error('metabot adapter not implemented yet');
}
