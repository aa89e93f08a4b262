import { VENDOR_REGISTRY, VENDORS } from '../vendors/registry.js';
import type { VendorConfigSlice } from '../vendors/types.js';
import type { AppConfig } from './env.js';

/** Every secret value the configuration holds, so the redactor can scrub them from any text. */
export function secretValues(config: AppConfig): string[] {
  // Each vendor's slice says which of its values are secret.
  const vendorSecrets = VENDORS.flatMap((name) => {
    const built = config.vendors[name];
    return built === undefined ? [] : (VENDOR_REGISTRY[name].config as unknown as VendorConfigSlice<unknown>).secrets(built);
  });
  return [
    ...vendorSecrets,
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
