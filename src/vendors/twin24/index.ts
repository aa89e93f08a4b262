import type { Twin24Config } from '../../config/env.js';
import type { VendorDefinition } from '../types.js';
import { createTwin24Adapter } from './adapter.js';
import { twin24PayloadSchema, type Twin24Payload } from './payload.js';

export const twin24Vendor: VendorDefinition<Twin24Payload, Twin24Config> = {
  name: 'twin24',
  channels: ['whatsapp'],
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
};
