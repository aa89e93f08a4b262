import { twin24Config, type Twin24Config } from './config.js';
import { correlatorComponent } from './correlation/component.js';
import type { VendorDefinition } from '../types.js';
import { createTwin24Adapter } from './adapter.js';
import { twin24PayloadSchema, type Twin24Payload } from './payload.js';

export const twin24Vendor: VendorDefinition<Twin24Payload, Twin24Config> = {
  name: 'twin24',
  recipients: { whatsapp: (event) => event.customer.channels.whatsappPhone },
  config: twin24Config,
  payloadSchema: twin24PayloadSchema,
  // A rule's `variables` are per destination; the phone is normalised by the payload schema.
  address: (message, event) => {
    const { variables, messengerUserId, ...shared } = message;
    const destination: Record<string, unknown> = { phone: event.customer.channels.whatsappPhone };
    if (variables !== undefined) destination.variables = variables;
    if (messengerUserId !== undefined) destination.messengerUserId = messengerUserId;
    return { ...shared, destination };
  },
  configFrom: (vendors) => vendors.twin24,
  reportsDelivery: true,
  createAdapter: createTwin24Adapter,
  // Polls Twin24's statistics and records what became of each message: `order-notify start twin24-correlator`.
  components: { 'twin24-correlator': correlatorComponent },
  docs: 'docs/vendors/twin24.md',
};
