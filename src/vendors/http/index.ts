import type { VendorDefinition } from '../types.js';
import { createHttpVendorAdapter } from './adapter.js';
import { httpVendorConfig, type HttpVendorConfig } from './config.js';
import { httpPayloadSchema, type HttpPayload } from './payload.js';
import { httpSandbox } from './sandbox.js';

/**
 * A generic signed HTTP vendor: posts a rule's rendered JSON body to the shop's own gateway (SMS, e-mail, ...).
 * The rule's body names its recipient itself (e.g. `phone: "{{customer.channels.whatsappPhone}}"`): a missing
 * field fails the render, so such an order is rejected with a reason, never sent half-empty.
 */
export const httpVendor: VendorDefinition<HttpPayload, HttpVendorConfig> = {
  name: 'http',
  recipients: { http: () => undefined },
  config: httpVendorConfig,
  payloadSchema: httpPayloadSchema,
  address: (message) => message,
  reachableWithoutChannel: () => true,
  configFrom: (vendors) => vendors.http,
  createAdapter: createHttpVendorAdapter,
  sandbox: httpSandbox,
  docs: 'docs/vendors/http.md',
};
