import type { AppConfig } from './env.js';

/** Every secret value the configuration holds, so the redactor can scrub them from any text. */
export function secretValues(config: AppConfig): string[] {
  const v = config.vendors;
  const twin24 = v.twin24?.auth;
  return [
    v.mantago?.token, v.mantago?.secret, v.joinchat?.secret, v.metabot?.token,
    twin24?.kind === 'static' ? twin24.token : twin24?.password,
    ...(config.results.webhookSecret?.split(',').map((x) => x.trim()) ?? []), config.http.ingestToken, config.http.ordersReadToken, config.http.dashboard.password,
    config.http.dashboard.operator?.password,
    ...passwordsInUrls([config.redis.url, ...(config.redis.clusterNodes ?? []), ...(config.outbox ? [config.outbox.databaseUrl] : [])]),
  ].filter((s): s is string => Boolean(s));
}

function passwordsInUrls(urls: string[]): string[] {
  return urls.flatMap((u) => {
    try {
      const p = new URL(u).password;
      return p ? [decodeURIComponent(p)] : [];
    } catch {
      return [];
    }
  });
}
