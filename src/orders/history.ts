import { z } from 'zod';
import type { DeliveryRecord } from './record.js'; // type only: record.ts imports this module

/**
 * The status history of an order's deliveries, for the timeline page: every change the record accepted (queued,
 * each retry with its reason, sent with the vendor's id, Twin24 progress, the final outcome), oldest first. One
 * Redis list per order beside its record, trimmed to the newest MAX_ENTRIES and expiring with the record.
 */
export const MAX_HISTORY_ENTRIES = 200;
const MAX_REASON = 500;

export const historyEntrySchema = z.object({
  at: z.string(),
  deliveryId: z.string(),
  status: z.string(),
  vendorStatus: z.string().optional(),
  vendorMessageId: z.string().optional(),
  chatId: z.string().optional(),
  reason: z.string().optional(),
  attempts: z.number().optional(),
  /** A bot result arrived with this change (the result itself stays in the record). */
  result: z.boolean().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** The history entry of one accepted change (written by the record script, orders/record-script.ts). */
export function historyEntryOf(d: DeliveryRecord): HistoryEntry {
  return {
    at: d.updatedAt, deliveryId: d.deliveryId, status: d.status, vendorStatus: d.vendorStatus, vendorMessageId: d.vendorMessageId,
    chatId: d.chatId, reason: d.reason?.slice(0, MAX_REASON), attempts: d.attempts, result: d.result === undefined ? undefined : true,
  };
}

/** Stored entries, in their order; entries that do not parse (edited by hand) are left out rather than failing the page. */
export function parseHistory(lines: readonly string[]): HistoryEntry[] {
  return lines.flatMap((line) => {
    try {
      const parsed = historyEntrySchema.safeParse(JSON.parse(line));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  });
}
