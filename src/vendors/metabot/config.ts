import { z } from 'zod';
import { rateLimit, type RateLimit } from '../../config/duration.js';
import { headerName, httpUrl, isTimeZone, optionalText } from '../../config/env-fields.js';
import type { VendorConfigSlice } from '../types.js';

export interface MetabotConfig { baseUrl: string; botId: string; token: string; timezone: string; rateLimit: RateLimit; authHeader?: string }

const env = {
  METABOT_BASE_URL: httpUrl.default('https://app.metabot24.com/api/v1'),
  METABOT_BOT_ID: optionalText,
  METABOT_TOKEN: optionalText,
  METABOT_TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Moscow').default('Europe/Moscow'),
  METABOT_RATE_LIMIT: rateLimit.default({ max: 10, durationMs: 1_000 }),
  /** The header carrying `Bearer <token>`: Authorization (Swagger, integrations) or the seed's `Authentication`. */
  METABOT_AUTH_HEADER: headerName.default('Authorization'),
};

export const metabotConfig: VendorConfigSlice<MetabotConfig, typeof env> = {
  env,
  secretVars: ['METABOT_TOKEN'],
  build: (e, need) => need('metabot', { METABOT_BOT_ID: e.METABOT_BOT_ID, METABOT_TOKEN: e.METABOT_TOKEN })
    ? {
      baseUrl: e.METABOT_BASE_URL, botId: e.METABOT_BOT_ID!, token: e.METABOT_TOKEN!,
      timezone: e.METABOT_TIMEZONE, rateLimit: e.METABOT_RATE_LIMIT, authHeader: e.METABOT_AUTH_HEADER,
    }
    : undefined,
  secrets: (c) => [c.token],
};
