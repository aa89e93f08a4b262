import type { Logger } from './logger.js';

export interface ShutdownOptions {
  exit?: (code: number) => void;
  /** If closing takes longer than this, exit 1 anyway (a close hung on a vanished Redis). Default: no limit. */
  forceAfterMs?: number;
  signals?: NodeJS.Signals[];
}

/**
 * SIGTERM/SIGINT → run the closer once (workers stop taking jobs and finish active ones within the timeout,
 * then queues and Redis close) → exit 0. A second signal, or the hard deadline, exits 1 at once.
 * Returns a function that removes the handlers.
 */
export function onShutdown(logger: Logger, close: () => Promise<void>, opts: ShutdownOptions = {}): () => void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      logger.flush?.();
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new work; waiting for active jobs');
    const force = opts.forceAfterMs === undefined ? undefined : setTimeout(() => {
      logger.error({ afterMs: opts.forceAfterMs }, 'shutdown did not finish in time: exiting');
      logger.flush?.();
      exit(1);
    }, opts.forceAfterMs);
    force?.unref();
    close().then(
      () => { clearTimeout(force); logger.info('shut down cleanly'); logger.flush?.(); exit(0); },
      (err: unknown) => { clearTimeout(force); logger.error({ err }, 'error during shutdown'); logger.flush?.(); exit(1); },
    );
  };
  for (const s of signals) process.on(s, handler);
  return () => { for (const s of signals) process.off(s, handler); };
}
