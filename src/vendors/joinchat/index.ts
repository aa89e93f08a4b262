import { joinchatConfig, type JoinchatConfig } from './config.js';
import type { VendorDefinition } from '../types.js';
import { createJoinchatAdapter } from './adapter.js';
import { joinchatPayloadSchema, type JoinchatPayload } from './payload.js';

export const joinchatVendor: VendorDefinition<JoinchatPayload, JoinchatConfig> = {
  name: 'joinchat',
  recipients: { messenger: (event) => event.customer.channels.messenger },
  config: joinchatConfig,
  payloadSchema: joinchatPayloadSchema,
  // Our event says psid; JoinChat calls the page-scoped id `id`.
  address: (message, event) => {
    const { psid, ...rest } = event.customer.channels.messenger ?? {};
    return { ...message, recipient: psid !== undefined ? { id: psid } : rest };
  },
  configFrom: (vendors) => vendors.joinchat,
  createAdapter: createJoinchatAdapter,
  docs: 'docs/vendors/joinchat.md',
};
