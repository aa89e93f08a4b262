import { metabotConfig, type MetabotConfig } from './config.js';
import type { VendorDefinition } from '../types.js';
import { createMetabotAdapter } from './adapter.js';
import { metabotPayloadSchema, metabotRuleNeedsNoLead, type MetabotPayload } from './payload.js';

export const metabotVendor: VendorDefinition<MetabotPayload, MetabotConfig> = {
  name: 'metabot',
  recipients: { metabot: (event) => event.customer.channels.metabotLeadId },
  config: metabotConfig,
  payloadSchema: metabotPayloadSchema,
  // The rule's own lead_id (a template) wins; else the event's lead; else none (see reachableWithoutChannel).
  address: (message, event) => {
    const lead = message.lead_id ?? event.customer.channels.metabotLeadId;
    return lead === undefined ? message : { ...message, lead_id: lead };
  },
  reachableWithoutChannel: metabotRuleNeedsNoLead,
  configFrom: (vendors) => vendors.metabot,
  createAdapter: createMetabotAdapter,
  docs: 'docs/vendors/metabot.md',
};
