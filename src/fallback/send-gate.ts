import { isOpen, queueDelay } from '../delivery/send-window.js';
import type { SendDecision, SendGate } from '../delivery/send-gate.js';
import type { DeliveryJobData } from '../delivery/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { ChainStore } from './store.js';

/**
 * The gate every delivery worker asks right before sending: a chain link that is no longer wanted is cancelled
 * (one Redis script, only for links after a chain's first), and a delivery whose send window is closed now (a
 * retry or a backlog ran into quiet hours) is held until it opens. Deliveries with neither cost nothing.
 */
export function createSendGate(deps: { store: ChainStore; metrics: Metrics; now?: () => number }): SendGate {
  const now = deps.now ?? Date.now;
  return {
    async check(data: DeliveryJobData): Promise<SendDecision> {
      if (data.chain && data.chain.step > 0) {
        const reachedBy = await deps.store.reachedByAnother(data.orderId, data.deliveryId);
        if (reachedBy) {
          deps.metrics.fallbacks.inc({ rule: data.ruleId, outcome: 'cancelled' });
          return { kind: 'cancel', reason: `not sent: ${reachedBy} (an earlier link of the chain) reached the customer` };
        }
      }
      if (data.sendWindow) {
        const window = data.sendWindow;
        const at = now();
        if (!isOpen(at, window)) {
          const held = queueDelay(data.deliveryId, window, 0, at);
          if (held.scheduledFor) {
            deps.metrics.heldByQuietHours.inc({ vendor: data.vendor });
            return { kind: 'hold', delayMs: held.delayMs, scheduledFor: held.scheduledFor };
          }
        }
      }
      return { kind: 'send' };
    },
  };
}
