import { mantagoConfig, type MantagoConfig } from './config.js';
import type { VendorDefinition } from '../types.js';
import { createMantagoAdapter } from './adapter.js';
import { mantagoPayloadSchema, type MantagoPayload } from './payload.js';

export const mantagoVendor: VendorDefinition<MantagoPayload, MantagoConfig> = {
  name: 'mantago',
  recipients: {
    line: (event) => event.customer.channels.lineUserId,
    facebook: (event) => event.customer.channels.facebookUserId,
  },
  config: mantagoConfig,
  payloadSchema: mantagoPayloadSchema,
  // The channel decides the platform; the customer's MantaGO client id is the one recipient.
  address: (message, event, channel) => ({ ...message, platform: channel, clientIds: [mantagoVendor.recipients[channel]!(event)] }),
  configFrom: (vendors) => vendors.mantago,
  createAdapter: createMantagoAdapter,
  docs: 'docs/vendors/mantago.md',
};
