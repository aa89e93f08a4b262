import type { MantagoConfig } from '../../config/env.js';
import type { AdapterContext, VendorAdapter } from '../../delivery/types.js';
import type { MantagoPayload } from './payload.js';

// Placeholder until the mantago client lands.
export function createMantagoAdapter(_ctx: AdapterContext<MantagoConfig>): VendorAdapter<MantagoPayload> {
  throw new Error('mantago adapter not implemented yet');
}
