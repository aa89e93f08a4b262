import { z } from 'zod';
import { durationMs, rateLimit, type RateLimit } from '../../config/duration.js';
import { httpUrl, list, optionalText, positiveInt } from '../../config/env-fields.js';
import type { VendorConfigSlice } from '../types.js';

export interface Twin24Config {
  iamUrl: string; notifyUrl: string; analyseUrl: string;
  auth: { kind: 'static'; token: string } | { kind: 'login'; email: string; password: string; companyId?: string; ttlSec: number };
  botId: string; chatId: string; rateLimit: RateLimit; batchMax: number; batchLingerMs: number;
  pollEveryMs: number; correlateMaxAgeMs: number; correlateWindowMs: number; statsPageSize: number;
  /** How chat sessions are looked up (see TWIN24_SESSION_LOOKUP); default window. */
  sessionLookup?: 'window' | 'per-session';
  /** Bot variables that mean "answered"; empty = any key but initialVariables with a non-empty value. */
  resultKeys?: string[];
  /** `fields` of the sessions query. */
  sessionFields?: string[];
}

/** The seed's session fields, without its example bot variable (`nps`): the result keys are added to these. */
export const SEED_SESSION_FIELDS = ['id', 'name', 'clientId', 'messengerType'] as const;

const names = (example: string) => z.string().trim().regex(/^[^,\s]+(\s*,\s*[^,\s]+)*$/, `must be comma-separated ${example}`).optional();

const env = {
  TWIN24_IAM_URL: httpUrl.default('https://iam.twin24.ai/api/v1'),
  TWIN24_NOTIFY_URL: httpUrl.default('https://notify.twin24.ai/api/v1'),
  TWIN24_ANALYSE_URL: httpUrl.default('https://analyse.twin24.ai/api/v1'),
  TWIN24_TOKEN: optionalText,
  TWIN24_EMAIL: optionalText,
  TWIN24_PASSWORD: optionalText,
  TWIN24_COMPANY_ID: optionalText,
  TWIN24_TOKEN_TTL: positiveInt.default(86_400),
  TWIN24_BOT_ID: optionalText,
  TWIN24_CHAT_ID: optionalText,
  TWIN24_RATE_LIMIT: rateLimit.default({ max: 5, durationMs: 1_000 }),
  TWIN24_BATCH_MAX: positiveInt.default(100),
  TWIN24_BATCH_LINGER_MS: z.coerce.number().int().min(0).default(50),
  TWIN24_POLL_EVERY: durationMs.default(30_000),
  TWIN24_CORRELATE_MAX_AGE: durationMs.default(72 * 3_600_000),
  TWIN24_CORRELATE_WINDOW: durationMs.default(6 * 3_600_000),
  TWIN24_STATS_PAGE_SIZE: z.coerce.number().int().min(1).max(1000).default(500),
  /** window: sessions of a time window without chatId (falling back per session); per-session: the seed's call per message. */
  TWIN24_SESSION_LOOKUP: z.enum(['window', 'per-session']).default('window'),
  /** Bot variables that mean "the bot answered" (comma-separated); unset = any key but initialVariables with a value. */
  TWIN24_RESULT_KEYS: names('bot variable names, e.g. confirmation,nps'),
  /** `fields` of the sessions query; unset = the seed's id,name,clientId,messengerType plus TWIN24_RESULT_KEYS. */
  TWIN24_SESSION_FIELDS: names('field names, e.g. id,name,clientId,messengerType,nps'),
};
type Env = z.infer<z.ZodObject<typeof env>>;

export const twin24Config: VendorConfigSlice<Twin24Config, typeof env> = {
  env,
  secretVars: ['TWIN24_TOKEN', 'TWIN24_PASSWORD'],
  build: (e, need, problems) => {
    const auth = authFrom(e, problems);
    if (!need('twin24', { 'TWIN24_TOKEN or TWIN24_EMAIL+TWIN24_PASSWORD': auth ? 'set' : undefined, TWIN24_BOT_ID: e.TWIN24_BOT_ID, TWIN24_CHAT_ID: e.TWIN24_CHAT_ID }) || !auth) return undefined;
    return {
      iamUrl: e.TWIN24_IAM_URL, notifyUrl: e.TWIN24_NOTIFY_URL, analyseUrl: e.TWIN24_ANALYSE_URL,
      auth, botId: e.TWIN24_BOT_ID!, chatId: e.TWIN24_CHAT_ID!,
      rateLimit: e.TWIN24_RATE_LIMIT, batchMax: e.TWIN24_BATCH_MAX, batchLingerMs: e.TWIN24_BATCH_LINGER_MS,
      pollEveryMs: e.TWIN24_POLL_EVERY, correlateMaxAgeMs: e.TWIN24_CORRELATE_MAX_AGE,
      correlateWindowMs: e.TWIN24_CORRELATE_WINDOW, statsPageSize: e.TWIN24_STATS_PAGE_SIZE,
      sessionLookup: e.TWIN24_SESSION_LOOKUP, resultKeys: list(e.TWIN24_RESULT_KEYS),
      sessionFields: e.TWIN24_SESSION_FIELDS ? list(e.TWIN24_SESSION_FIELDS) : [...new Set([...SEED_SESSION_FIELDS, ...list(e.TWIN24_RESULT_KEYS)])],
    };
  },
  secrets: (c) => [c.auth.kind === 'static' ? c.auth.token : c.auth.password],
  lingerMs: (e) => e.TWIN24_BATCH_LINGER_MS,
};

function authFrom(e: Env, problems: string[]): Twin24Config['auth'] | undefined {
  if (e.TWIN24_TOKEN) return { kind: 'static', token: e.TWIN24_TOKEN };
  if (e.TWIN24_EMAIL && e.TWIN24_PASSWORD) {
    return { kind: 'login', email: e.TWIN24_EMAIL, password: e.TWIN24_PASSWORD, companyId: e.TWIN24_COMPANY_ID, ttlSec: e.TWIN24_TOKEN_TTL };
  }
  if (e.TWIN24_EMAIL || e.TWIN24_PASSWORD) problems.push(`${e.TWIN24_EMAIL ? 'TWIN24_PASSWORD' : 'TWIN24_EMAIL'}: required with the other one (or set TWIN24_TOKEN)`);
  return undefined;
}
