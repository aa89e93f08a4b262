import { loadConfig, type AppConfig } from '../../src/config/env.js';

export { sandboxEnv } from '../../src/sandbox/env.js';

/** A config for tests: a private Redis, a unique prefix, quiet logs, fast retries. */
export function testConfig(redisUrl: string, env: Record<string, string | undefined> = {}): AppConfig {
  return loadConfig({
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `t${Math.random().toString(36).slice(2, 8)}`,
    LOG_LEVEL: 'silent',
    DELIVERY_BACKOFF: '50ms',
    DELIVERY_BACKOFF_MAX: '500ms',
    ...env,
  });
}
