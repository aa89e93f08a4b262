import { loadConfig, type AppConfig } from '../../src/config/env.js';
import type { Sandbox } from '../../src/sandbox/index.js';

/** Environment for every vendor pointed at a running sandbox with its accepted credentials. */
export function sandboxEnv(sandbox: Pick<Sandbox, 'urls' | 'credentials'>): Record<string, string> {
  const c = sandbox.credentials;
  return {
    MANTAGO_BASE_URL: sandbox.urls.mantago, MANTAGO_BOT_ID: c.mantago.botId, MANTAGO_TOKEN: c.mantago.token, MANTAGO_SECRET: c.mantago.secret,
    JOINCHAT_BASE_URL: sandbox.urls.joinchat, JOINCHAT_PAGE_ID: c.joinchat.pageId, JOINCHAT_SECRET: c.joinchat.secret,
    METABOT_BASE_URL: sandbox.urls.metabot, METABOT_BOT_ID: c.metabot.botId, METABOT_TOKEN: c.metabot.token,
    TWIN24_IAM_URL: sandbox.urls.twin24Iam, TWIN24_NOTIFY_URL: sandbox.urls.twin24Notify, TWIN24_ANALYSE_URL: sandbox.urls.twin24Analyse,
    TWIN24_EMAIL: c.twin24.email, TWIN24_PASSWORD: c.twin24.password, TWIN24_BOT_ID: c.twin24.botId, TWIN24_CHAT_ID: c.twin24.chatId,
  };
}

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
