import type { JoinchatConfig } from '../../config/env.js';
import type { AdapterContext, VendorAdapter } from '../../delivery/types.js';
import type { JoinchatPayload } from './payload.js';

// Placeholder until the joinchat client lands.
export function createJoinchatAdapter(_ctx: AdapterContext<JoinchatConfig>): VendorAdapter<JoinchatPayload> {
  throw new Error('joinchat adapter not implemented yet');
}
