import type { MantagoConfig } from '../../config/env.js';
import type { VendorDefinition } from '../types.js';
import { channelValue } from '../types.js';
import { createMantagoAdapter } from './adapter.js';
import { mantagoPayloadSchema, type MantagoPayload } from './payload.js';

export const mantagoVendor: VendorDefinition<MantagoPayload, MantagoConfig> = {
  name: 'mantago',
  channels: ['line', 'facebook'],
  payloadSchema: mantagoPayloadSchema,
  // The channel decides the platform; the customer's MantaGO client id is the one recipient.
  address: (message, event, channel) => ({ ...message, platform: channel, clientIds: [channelValue(event, channel)] }),
  configFrom: (vendors) => vendors.mantago,
  createAdapter: createMantagoAdapter,
};
