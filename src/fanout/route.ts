import type { VendorName } from '../vendors/registry.js';
import type { Channel } from '../vendors/types.js';
import type { RouteSendWindow } from './route-extras.js';

/** One routing rule as the fan-out uses it (parsed and checked by routes.ts; planned by plan.ts). */
export interface Route {
  id: string;
  vendor: VendorName;
  channel: Channel;
  description?: string;
  delayMs?: number;
  when?: { locales?: string[]; currencies?: string[]; minTotal?: number };
  message: Record<string, unknown>;
  /** See docs/reliability.md; resend when absent. */
  onUnknownOutcome?: 'resend' | 'hold';
  /** The next link of this rule's fallback chain; `afterMs` only for vendors that report delivery. */
  fallback?: { rule: string; afterMs?: number };
  fallbackOnly?: boolean;
  sendWindow?: RouteSendWindow;
}
