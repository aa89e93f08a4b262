import type { VendorConfigs } from '../config/env.js';
import type { OrderPaid } from '../events/order-paid.js';
import { httpVendor } from './http/index.js';
import { joinchatVendor } from './joinchat/index.js';
import { mantagoVendor } from './mantago/index.js';
import { metabotVendor } from './metabot/index.js';
import { twin24Vendor } from './twin24/index.js';
import type { Channel, VendorDefinition } from './types.js';

/** Every vendor the system can deliver through: one line each. Everything else about a vendor is in its folder. */
export const VENDOR_REGISTRY = {
  mantago: mantagoVendor,
  joinchat: joinchatVendor,
  metabot: metabotVendor,
  twin24: twin24Vendor,
  http: httpVendor,
} as const;

export type VendorName = keyof typeof VENDOR_REGISTRY;
export const VENDORS = Object.keys(VENDOR_REGISTRY) as VendorName[];
/** A vendor's config type, read off its definition. */
export type VendorConfigOf<V extends VendorName> = (typeof VENDOR_REGISTRY)[V] extends VendorDefinition<unknown, infer C> ? C : never;

export function isVendorName(v: string): v is VendorName {
  return Object.hasOwn(VENDOR_REGISTRY, v);
}

export function vendorDefinition(name: VendorName): VendorDefinition<unknown> {
  return VENDOR_REGISTRY[name] as unknown as VendorDefinition<unknown>;
}

export function enabledVendors(configs: VendorConfigs): VendorName[] {
  return VENDORS.filter((v) => vendorDefinition(v).configFrom(configs) !== undefined);
}

/** The channels a routing rule can target: every channel some vendor serves. */
export const CHANNELS = [...new Set(VENDORS.flatMap((v) => Object.keys(vendorDefinition(v).recipients)))] as [Channel, ...Channel[]];

/** The recipient value of a channel, or undefined when the customer cannot be reached on it. */
export function channelValue(event: OrderPaid, channel: Channel): unknown {
  for (const v of VENDORS) {
    const read = vendorDefinition(v).recipients[channel];
    if (read) return read(event);
  }
  return undefined;
}

/** Process components vendors add besides their delivery worker (e.g. twin24-correlator), by component name. */
export function vendorComponents(): Array<{ vendor: VendorName; name: string; component: NonNullable<VendorDefinition['components']>[string] }> {
  return VENDORS.flatMap((vendor) => Object.entries(vendorDefinition(vendor).components ?? {}).map(([name, component]) => ({ vendor, name, component })));
}
