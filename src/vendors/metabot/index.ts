import type { MetabotConfig } from '../../config/env.js';
import type { VendorDefinition } from '../types.js';
import { createMetabotAdapter } from './adapter.js';
import { metabotPayloadSchema, type MetabotPayload } from './payload.js';

export const metabotVendor: VendorDefinition<MetabotPayload, MetabotConfig> = {
  name: 'metabot',
  channels: ['metabot'],
  payloadSchema: metabotPayloadSchema,
  address: (message, event) => ({ ...message, lead_id: event.customer.channels.metabotLeadId }),
  configFrom: (vendors) => vendors.metabot,
  createAdapter: createMetabotAdapter,
};
