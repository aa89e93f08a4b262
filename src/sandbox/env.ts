import type { Sandbox } from './types.js';

type VendorKey = 'mantago' | 'joinchat' | 'metabot' | 'twin24';
const ALL: VendorKey[] = ['mantago', 'joinchat', 'metabot', 'twin24'];

/** The environment that points the given vendors at a running sandbox with the credentials it accepts. */
export function sandboxEnv(sandbox: Pick<Sandbox, 'urls' | 'credentials'> & Partial<Pick<Sandbox, 'vendorEnv'>>, vendors?: readonly string[]): Record<string, string> {
  const brought = sandbox.vendorEnv ?? {};
  const wanted = vendors ?? [...ALL, ...Object.keys(brought)];
  const c = sandbox.credentials;
  const byVendor: Record<VendorKey, Record<string, string>> = {
    mantago: { MANTAGO_BASE_URL: sandbox.urls.mantago, MANTAGO_BOT_ID: c.mantago.botId, MANTAGO_TOKEN: c.mantago.token, MANTAGO_SECRET: c.mantago.secret },
    joinchat: { JOINCHAT_BASE_URL: sandbox.urls.joinchat, JOINCHAT_PAGE_ID: c.joinchat.pageId, JOINCHAT_SECRET: c.joinchat.secret },
    metabot: { METABOT_BASE_URL: sandbox.urls.metabot, METABOT_BOT_ID: c.metabot.botId, METABOT_TOKEN: c.metabot.token, ...(c.metabot.authHeader.toLowerCase() !== 'authorization' ? { METABOT_AUTH_HEADER: c.metabot.authHeader } : {}) },
    twin24: {
      TWIN24_IAM_URL: sandbox.urls.twin24Iam, TWIN24_NOTIFY_URL: sandbox.urls.twin24Notify, TWIN24_ANALYSE_URL: sandbox.urls.twin24Analyse,
      TWIN24_EMAIL: c.twin24.email, TWIN24_PASSWORD: c.twin24.password, TWIN24_BOT_ID: c.twin24.botId, TWIN24_CHAT_ID: c.twin24.chatId,
    },
  };
  return Object.assign({}, ...wanted.map((v) => (ALL.includes(v as VendorKey) ? byVendor[v as VendorKey] : brought[v] ?? {})));
}
