import { VENDORS, type VendorName } from '../vendors/registry.js';
import { loadConfig } from '../config/env.js';
import { EXIT, StartupError } from '../runtime/exit-codes.js';

/** What `npm start` has to bring up itself, decided from the environment and what the machine has. */
export interface StartupPlan {
  /** No REDIS_URL and nothing on 127.0.0.1:6379: start a private redis-server in a temp dir. */
  embeddedRedis: boolean;
  /** Vendors with no credentials: pointed at the built-in sandbox. */
  sandboxVendors: VendorName[];
  /** Only a pure demo (every vendor in the sandbox, our own Redis) seeds the example orders. */
  seedExamples: boolean;
}

export interface MachineFacts {
  /** Something answered PING on 127.0.0.1:6379. */
  localRedisAnswers: boolean;
  /** `redis-server` is on PATH. */
  redisServerOnPath: boolean;
}


export const NO_REDIS_MESSAGE = [
  'order-notify needs Redis, and no redis-server was found on this machine.',
  'Install one and run `npm start` again:',
  '  Debian/Ubuntu:  sudo apt-get install redis-server',
  '  macOS:          brew install redis',
  '  Docker:         docker run -d -p 6379:6379 redis:7   (then REDIS_URL is not needed: 127.0.0.1:6379 is used)',
  'Or point REDIS_URL at an existing Redis (6.2 or newer).',
].join('\n');

export function planStartup(env: NodeJS.ProcessEnv, facts: MachineFacts): StartupPlan {
  const config = loadConfig(env); // a ConfigError here is the right answer too: bad settings stop start-up
  const redisConfigured = Boolean(env.REDIS_URL || env.REDIS_CLUSTER_NODES);
  const embeddedRedis = !redisConfigured && !facts.localRedisAnswers;
  if (embeddedRedis && !facts.redisServerOnPath) throw new StartupError(NO_REDIS_MESSAGE, EXIT.redisUnavailable);
  const sandboxVendors = VENDORS.filter((v) => config.disabledVendors.some((d) => d.vendor === v));
  return { embeddedRedis, sandboxVendors, seedExamples: sandboxVendors.length === VENDORS.length && !redisConfigured };
}
