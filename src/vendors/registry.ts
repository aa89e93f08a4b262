import type { VendorConfigs } from '../config/env.js';
import { joinchatVendor } from './joinchat/index.js';
import { mantagoVendor } from './mantago/index.js';
import { metabotVendor } from './metabot/index.js';
import { twin24Vendor } from './twin24/index.js';
import type { VendorDefinition } from './types.js';

/** Every vendor the system can deliver through: one line each. */
export const VENDOR_REGISTRY = {
  mantago: mantagoVendor,
  joinchat: joinchatVendor,
  metabot: metabotVendor,
  twin24: twin24Vendor,
} as const;

export type VendorName = keyof typeof VENDOR_REGISTRY;
export const VENDORS = Object.keys(VENDOR_REGISTRY) as VendorName[];

export function isVendorName(v: string): v is VendorName {
  return Object.hasOwn(VENDOR_REGISTRY, v);
}

export function vendorDefinition(name: VendorName): VendorDefinition<unknown> {
  return VENDOR_REGISTRY[name] as unknown as VendorDefinition<unknown>;
}

export function enabledVendors(configs: VendorConfigs): VendorName[] {
  return VENDORS.filter((v) => vendorDefinition(v).configFrom(configs) !== undefined);
}
