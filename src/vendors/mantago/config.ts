import { z } from 'zod';
import { rateLimit, type RateLimit } from '../../config/duration.js';
import { httpUrl, optionalText, positiveInt } from '../../config/env-fields.js';
import type { VendorConfigSlice } from '../types.js';

export interface MantagoConfig { baseUrl: string; botId: string; token: string; secret: string; rateLimit: RateLimit; batchMax: number; batchLingerMs: number }

const env = {
  MANTAGO_BASE_URL: httpUrl.default('https://mantago.cc/api'),
  MANTAGO_BOT_ID: optionalText,
  MANTAGO_TOKEN: optionalText,
  MANTAGO_SECRET: optionalText,
  MANTAGO_RATE_LIMIT: rateLimit.default({ max: 10, durationMs: 1_000 }),
  MANTAGO_BATCH_MAX: positiveInt.default(100),
  MANTAGO_BATCH_LINGER_MS: z.coerce.number().int().min(0).default(50),
};

export const mantagoConfig: VendorConfigSlice<MantagoConfig, typeof env> = {
  env,
  secretVars: ['MANTAGO_TOKEN', 'MANTAGO_SECRET'],
  build: (e, need) => need('mantago', { MANTAGO_BOT_ID: e.MANTAGO_BOT_ID, MANTAGO_TOKEN: e.MANTAGO_TOKEN, MANTAGO_SECRET: e.MANTAGO_SECRET })
    ? {
      baseUrl: e.MANTAGO_BASE_URL, botId: e.MANTAGO_BOT_ID!, token: e.MANTAGO_TOKEN!, secret: e.MANTAGO_SECRET!,
      rateLimit: e.MANTAGO_RATE_LIMIT, batchMax: e.MANTAGO_BATCH_MAX, batchLingerMs: e.MANTAGO_BATCH_LINGER_MS,
    }
    : undefined,
  secrets: (c) => [c.token, c.secret],
  lingerMs: (e) => e.MANTAGO_BATCH_LINGER_MS,
};
