import type { Twin24Config } from '../../config/env.js';
import type { AdapterContext, VendorAdapter } from '../../delivery/types.js';
import type { Twin24Payload } from './payload.js';

// Placeholder until the twin24 client lands.
export function createTwin24Adapter(_ctx: AdapterContext<Twin24Config>): VendorAdapter<Twin24Payload> {
  throw new Error('twin24 adapter not implemented yet');
}
