import type { Logger } from './logger.js';

/**
 * SIGTERM/SIGINT → run every closer once (workers stop taking jobs and finish active ones within the timeout,
 * then queues and Redis close) → exit 0. A second signal exits at once.
 */
export function onShutdown(logger: Logger, close: () => Promise<void>, opts: { exit?: (code: number) => void } = {}): void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    close().then(
      () => { logger.info('shut down cleanly'); logger.flush?.(); exit(0); },
      (err: unknown) => { logger.error({ err }, 'error during shutdown'); logger.flush?.(); exit(1); },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
