import { PendingMessages, type PendingMessage } from './correlation/pending.js';

/**
 * Coalesces the pending-set writes of deliveries acknowledged together (one vendor request acknowledges up to
 * batchMax of them at once) into one Redis transaction. Each caller still waits for the write holding its own
 * message, so a job never completes before the correlator can find its message.
 */
export class PendingWriter {
  private buffer: PendingMessage[] = [];
  private flush?: Promise<void>;

  constructor(private readonly pending: PendingMessages) {}

  add(message: PendingMessage): Promise<void> {
    this.buffer.push(message);
    // Callers arriving before the next macrotask join this flush.
    this.flush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const batch = this.buffer;
      this.buffer = [];
      this.flush = undefined;
      return this.pending.add(batch);
    });
    return this.flush;
  }
}
