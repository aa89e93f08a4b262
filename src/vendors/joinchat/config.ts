import { z } from 'zod';
import { rateLimit, type RateLimit } from '../../config/duration.js';
import { httpUrl, optionalText } from '../../config/env-fields.js';
import type { VendorConfigSlice } from '../types.js';

export interface JoinchatConfig { baseUrl: string; pageId: string; secret: string; signatureHeader: string; rateLimit: RateLimit; pageIdFormat?: 'auto' | 'string' }

const env = {
  JOINCHAT_BASE_URL: httpUrl.default('https://joinchat.ai/api'),
  JOINCHAT_PAGE_ID: optionalText,
  JOINCHAT_SECRET: optionalText,
  JOINCHAT_SIGNATURE_HEADER: z.string().regex(/^[A-Za-z0-9_-]+$/).default('x-joinchat-signature'),
  JOINCHAT_RATE_LIMIT: rateLimit.default({ max: 10, durationMs: 1_000 }),
  /** How page_id goes on the wire: `auto` = a JSON integer when all digits (the seed's `12345`), else a string. */
  JOINCHAT_PAGE_ID_FORMAT: z.enum(['auto', 'string']).default('auto'),
};

export const joinchatConfig: VendorConfigSlice<JoinchatConfig, typeof env> = {
  env,
  secretVars: ['JOINCHAT_SECRET'],
  build: (e, need) => need('joinchat', { JOINCHAT_PAGE_ID: e.JOINCHAT_PAGE_ID, JOINCHAT_SECRET: e.JOINCHAT_SECRET })
    ? {
      baseUrl: e.JOINCHAT_BASE_URL, pageId: e.JOINCHAT_PAGE_ID!, secret: e.JOINCHAT_SECRET!,
      signatureHeader: e.JOINCHAT_SIGNATURE_HEADER, rateLimit: e.JOINCHAT_RATE_LIMIT, pageIdFormat: e.JOINCHAT_PAGE_ID_FORMAT,
    }
    : undefined,
  secrets: (c) => [c.secret],
};
