import type { z } from 'zod';
import type { VendorConfigs } from '../config/env.js';
import type { RateLimit } from '../config/duration.js';
import type { OrderPaid } from '../events/order-paid.js';
import type { AdapterContext, VendorAdapter } from '../delivery/types.js';

/** The customer channels a routing rule can target; each maps to one field of customer.channels. */
export const CHANNELS = ['line', 'facebook', 'messenger', 'metabot', 'whatsapp'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Everything the rest of the system knows about a vendor. Adding a vendor = a folder exporting one of these,
 * plus one line in registry.ts.
 */
/** What every vendor config has: its request budget. */
export interface VendorConfigBase { rateLimit: RateLimit }

export interface VendorDefinition<P = unknown, C extends VendorConfigBase = VendorConfigBase> {
  name: string;
  /** Channels a rule for this vendor may name. */
  channels: readonly Channel[];
  /** The full delivery payload (rendered rule message + recipient); limits live here so fan-out refuses early. */
  payloadSchema: z.ZodType<P, unknown>;
  /** Adds the recipient taken from the event's channel to the rendered message (before payloadSchema runs). */
  address(message: Record<string, unknown>, event: OrderPaid, channel: Channel): Record<string, unknown>;
  /**
   * Whether a rule's (unrendered) message reaches someone even when the customer lacks the rule's channel (e.g. a
   * Metabot broadcast, or a rule that names its own lead). Absent: a rule needs the channel.
   */
  reachableWithoutChannel?(message: Record<string, unknown>): boolean;
  /** This vendor's config when its credentials are set, else undefined (the vendor is disabled). */
  configFrom(vendors: VendorConfigs): C | undefined;
  /** The vendor later reports whether the message was delivered (Twin24 via the correlator): "sent" is not "reached". */
  reportsDelivery?: boolean;
  createAdapter(ctx: AdapterContext<C>): VendorAdapter<P>;
}

/** The recipient value of a channel, or undefined when the customer cannot be reached on it. */
export function channelValue(event: OrderPaid, channel: Channel): unknown {
  const c = event.customer.channels;
  switch (channel) {
    case 'line': return c.lineUserId;
    case 'facebook': return c.facebookUserId;
    case 'messenger': return c.messenger;
    case 'metabot': return c.metabotLeadId;
    case 'whatsapp': return c.whatsappPhone;
  }
}
