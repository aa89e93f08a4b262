/**
 * Process exit codes, the same for every entry point (workers, API, CLI), so scripts and orchestrators can tell
 * a bad setting (fix the config, do not restart-loop) from Redis being away (retry later).
 */
export const EXIT = {
  ok: 0,
  /** Invalid input, or a failure that is not one of the cases below. */
  failure: 1,
  /** Bad configuration: an environment variable, the routes file, missing credentials. */
  config: 2,
  /** The thing asked for does not exist (an unknown order id). */
  notFound: 3,
  /** Redis could not be reached. */
  redisUnavailable: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  ok
  1  invalid input, or failure
  2  bad configuration (environment, routes file, missing credentials)
  3  not found
  4  Redis unreachable`;

/** A start-up problem a person must fix, with the exit code that says which kind. */
export class StartupError extends Error {
  constructor(message: string, readonly exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
