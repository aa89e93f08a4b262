/**
 * Group commit: calls made while a flush is in flight wait and go out together in the next one. Alone, an item goes
 * at once (no linger, no added latency); under load, the concurrent jobs of a worker share one round trip and one
 * script call. A failed flush fails every item in it (each caller's job retries as it would have alone).
 */
export function coalescing<T>(flush: (items: T[]) => Promise<void>, maxBatch = 500): (item: T) => Promise<void> {
  let waiting: Array<{ item: T; resolve(): void; reject(e: unknown): void }> = [];
  let running = false;

  async function run(): Promise<void> {
    running = true;
    while (waiting.length) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      try {
        await flush(batch.map((b) => b.item));
        for (const b of batch) b.resolve();
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    running = false;
  }

  return (item: T) => new Promise<void>((resolve, reject) => {
    waiting.push({ item, resolve, reject });
    if (!running) void run();
  });
}
