import { z } from 'zod';
import { durationMs, rateLimit, type RateLimit } from './duration.js';

/**
 * Every environment variable the project reads, parsed once at start-up.
 * A bad value stops start-up with one message naming every bad variable (see ConfigError).
 */
const optionalText = z.string().trim().min(1).optional();
const url = z.url({ protocol: /^https?$/, message: 'must be an absolute http(s) URL' });
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v));
const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const envSchema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
  /** Redis Cluster: several node URLs separated by commas, used instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: optionalText,
  QUEUE_PREFIX: z.string().regex(/^[^:\s]+$/, 'must not contain ":" or spaces (use e.g. order-notify or {order-notify})').default('order-notify'),
  ROUTES_FILE: z.string().default('config/routes.example.yaml'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  IDEMPOTENCY_WINDOW: durationMs.default(7 * 86_400_000),
  ORDER_RETENTION: durationMs.default(30 * 86_400_000),
  KEEP_COMPLETED_JOBS: durationMs.default(86_400_000),
  KEEP_FAILED_JOBS: durationMs.default(14 * 86_400_000),
  KEEP_FAILED_JOBS_COUNT: positiveInt.default(50_000),
  /** Retry envelope: with these defaults a delivery keeps retrying for at least 1 h 1 min (every jittered wait at its
   *  shortest) and up to 2 h 3 min, so it outlasts a 1-hour vendor outage (test/reliability/vendor-outage.test.ts). */
  DELIVERY_ATTEMPTS: positiveInt.default(32),
  DELIVERY_BACKOFF: durationMs.default(2_000),
  DELIVERY_BACKOFF_MAX: durationMs.default(300_000),
  DELIVERY_CONCURRENCY: positiveInt.default(100),
  FANOUT_CONCURRENCY: positiveInt.default(50),
  /** Total deadline of every outbound call (vendors, Twin24 statistics, the results webhook). */
  VENDOR_TIMEOUT: durationMs.default(10_000),
  VENDOR_MAX_RESPONSE_BYTES: positiveInt.default(1024 * 1024),
  /** BullMQ job lock; must outlast a vendor call plus the batch linger plus the ledger write retry (checked below). */
  DELIVERY_LOCK_DURATION: durationMs.default(60_000),
  STALLED_INTERVAL: durationMs.default(30_000),
  MAX_STALLED_COUNT: z.coerce.number().int().min(0).default(1),
  /** How long a ledger write after a vendor acknowledgement is retried in-process before the job ends "sent, not recorded". */
  LEDGER_WRITE_RETRY: durationMs.default(20_000),
  /** How long a vendor is paused after a 429 that carries no Retry-After. */
  RATE_LIMIT_DEFAULT_PAUSE: durationMs.default(5_000),

  MANTAGO_BASE_URL: url.default('https://mantago.cc/api'),
  MANTAGO_BOT_ID: optionalText,
  MANTAGO_TOKEN: optionalText,
  MANTAGO_SECRET: optionalText,
  MANTAGO_RATE_LIMIT: rateLimit.default({ max: 10, durationMs: 1_000 }),
  MANTAGO_BATCH_MAX: positiveInt.default(100),
  MANTAGO_BATCH_LINGER_MS: z.coerce.number().int().min(0).default(50),

  JOINCHAT_BASE_URL: url.default('https://joinchat.ai/api'),
  JOINCHAT_PAGE_ID: optionalText,
  JOINCHAT_SECRET: optionalText,
  JOINCHAT_SIGNATURE_HEADER: z.string().regex(/^[A-Za-z0-9_-]+$/).default('x-joinchat-signature'),
  JOINCHAT_RATE_LIMIT: rateLimit.default({ max: 10, durationMs: 1_000 }),
  /** How page_id goes on the wire: `auto` = a JSON integer when all digits (the seed's `12345`), else a string. */
  JOINCHAT_PAGE_ID_FORMAT: z.enum(['auto', 'string']).default('auto'),

  METABOT_BASE_URL: url.default('https://app.metabot24.com/api/v1'),
  METABOT_BOT_ID: optionalText,
  METABOT_TOKEN: optionalText,
  METABOT_TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Europe/Moscow').default('Europe/Moscow'),
  METABOT_RATE_LIMIT: rateLimit.default({ max: 10, durationMs: 1_000 }),
  /** The header carrying `Bearer <token>`: Authorization (Swagger, integrations) or the seed's `Authentication`. */
  METABOT_AUTH_HEADER: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be a header name such as Authorization').default('Authorization'),

  TWIN24_IAM_URL: url.default('https://iam.twin24.ai/api/v1'),
  TWIN24_NOTIFY_URL: url.default('https://notify.twin24.ai/api/v1'),
  TWIN24_ANALYSE_URL: url.default('https://analyse.twin24.ai/api/v1'),
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
  TWIN24_RESULT_KEYS: z.string().trim().regex(/^[^,\s]+(\s*,\s*[^,\s]+)*$/, 'must be comma-separated bot variable names, e.g. confirmation,nps').optional(),
  /** `fields` of the sessions query; unset = the seed's id,name,clientId,messengerType plus TWIN24_RESULT_KEYS. */
  TWIN24_SESSION_FIELDS: z.string().trim().regex(/^[^,\s]+(\s*,\s*[^,\s]+)*$/, 'must be comma-separated field names, e.g. id,name,clientId,messengerType,nps').optional(),

  RESULTS_WEBHOOK_URL: url.optional(),
  RESULTS_WEBHOOK_SECRET: optionalText,
  /** The results queue can be turned off when the monolith only uses the webhook (or nothing). */
  RESULTS_QUEUE_ENABLED: bool.default(true),
  /** Most jobs waiting in the results queue; above it the oldest waiting ones are trimmed (metric counts them). */
  RESULTS_QUEUE_MAX: positiveInt.default(100_000),

  HTTP_PORT: port.default(3000),
  METRICS_PORT: port.default(9464),
  INGEST_TOKEN: optionalText,
  /** Reads per-order records (GET /v1/orders/{id}): personal data, so a token of its own, never the ingest one. */
  ORDERS_READ_TOKEN: optionalText,
  INGEST_BODY_LIMIT: positiveInt.default(256 * 1024),
  /** Failed sign-ins / bearer checks allowed per client and window before every attempt gets 429. */
  AUTH_FAILURE_LIMIT: rateLimit.default({ max: 10, durationMs: 60_000 }),
  /** Behind a reverse proxy: which hops' X-Forwarded-For to believe (hop count, or proxy addresses/CIDRs), so the
   *  failed-auth limit counts per real client rather than per proxy. Unset: the socket address is the client. */
  TRUST_PROXY: z.string().trim().regex(/^(\d{1,2}|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$/, 'must be a hop count (e.g. 1) or comma-separated proxy addresses/CIDRs')
    .transform((v) => (/^\d+$/.test(v) ? Number(v) : v.split(',')))
    .optional(),
  DASHBOARD_ENABLED: bool.default(true),
  DASHBOARD_USER: optionalText,
  DASHBOARD_PASSWORD: optionalText,
  /** Optional second dashboard login that may also retry, promote and remove failed jobs. */
  DASHBOARD_OPERATOR_USER: optionalText,
  DASHBOARD_OPERATOR_PASSWORD: optionalText,
  SHUTDOWN_TIMEOUT: durationMs.default(25_000),

  /** Transactional outbox relay (docs/outbox.md): off until a database URL is set. */
  OUTBOX_DATABASE_URL: z.string().regex(/^(postgres|postgresql|mysql|mariadb):\/\//, 'must start with postgres://, postgresql://, mysql:// or mariadb://').optional(),
  OUTBOX_TABLE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/, 'must be a plain table name, optionally schema.table').default('order_notify_outbox'),
  OUTBOX_POLL_EVERY: durationMs.default(500),
  OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(1000).default(100),
  OUTBOX_AFTER_ENQUEUE: z.enum(['mark', 'delete']).default('mark'),
  OUTBOX_RETENTION: durationMs.default(7 * 86_400_000),
  OUTBOX_LISTEN: bool.default(false),
  OUTBOX_LISTEN_CHANNEL: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case identifier').default('order_notify_outbox'),
  /** Quiet hours: the zone of a rule's sendWindow when neither the order nor the rule names one. */
  SEND_WINDOW_TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA time zone such as Asia/Bangkok').default('UTC'),
  /** Deliveries held by quiet hours go out spread over this long after the window opens. */
  SEND_WINDOW_SPREAD: durationMs.default(10 * 60_000),
});

/** Shortest RESULTS_WEBHOOK_SECRET accepted (each, when several are listed for a rotation). */
export const MIN_WEBHOOK_SECRET_BYTES = 24;

function httpsOrLoopback(raw: string): boolean {
  const u = new URL(raw);
  return u.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) || /^127\.\d+\.\d+\.\d+$/.test(u.hostname);
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

type Env = z.infer<typeof envSchema>;

export interface MantagoConfig { baseUrl: string; botId: string; token: string; secret: string; rateLimit: RateLimit; batchMax: number; batchLingerMs: number }
export interface JoinchatConfig { baseUrl: string; pageId: string; secret: string; signatureHeader: string; rateLimit: RateLimit; pageIdFormat?: 'auto' | 'string' }
export interface MetabotConfig { baseUrl: string; botId: string; token: string; timezone: string; rateLimit: RateLimit; authHeader?: string }
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

const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
export interface VendorConfigs { mantago?: MantagoConfig; joinchat?: JoinchatConfig; metabot?: MetabotConfig; twin24?: Twin24Config }

export interface AppConfig {
  redis: { url: string; clusterNodes?: string[] };
  queuePrefix: string;
  routesFile: string;
  logLevel: Env['LOG_LEVEL'];
  idempotencyWindowMs: number;
  orderRetentionMs: number;
  /** keepFailedCount: a count cap besides the age (absent = age only, for producers built by hand). */
  jobs: { keepCompletedMs: number; keepFailedMs: number; keepFailedCount?: number };
  /** BullMQ lock and stalled-job check of the worker queues. */
  locks: { lockDurationMs: number; stalledIntervalMs: number; maxStalledCount: number };
  delivery: {
    attempts: number; backoffMs: number; backoffMaxMs: number; concurrency: number; vendorTimeoutMs: number; defaultRateLimitPauseMs: number;
    maxResponseBytes: number; ledgerWriteRetryMs: number;
  };
  fanoutConcurrency: number;
  vendors: VendorConfigs;
  /** Vendors left out for lack of credentials, with the variables that would enable them. */
  disabledVendors: Array<{ vendor: string; missing: string[] }>;
  results: { webhookUrl?: string; webhookSecret?: string; queueEnabled: boolean; queueMax: number };
  http: {
    port: number; metricsPort: number; ingestToken?: string; ordersReadToken?: string; bodyLimit: number; authFailureLimit: RateLimit;
    trustProxy?: number | string[];
    dashboard: { enabled: boolean; user?: string; password?: string; operator?: { user: string; password: string } };
  };
  shutdownTimeoutMs: number;
  /** Present when OUTBOX_DATABASE_URL is set. */
  outbox?: OutboxConfig;
  sendWindow: { defaultTimeZone: string; spreadMs: number };
}

export interface OutboxConfig {
  databaseUrl: string;
  table: string;
  pollEveryMs: number;
  batchSize: number;
  afterEnqueue: 'mark' | 'delete';
  retentionMs: number;
  /** PostgreSQL only: LISTEN on this channel to wake up at once (null = poll only). */
  listenChannel: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws ConfigError listing every problem by variable name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  // Empty strings count as unset: `FOO=` in a .env file must not override a default with "".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${String(i.path[0] ?? '(env)')}: ${i.message}`);
  if (!parsed.success) throw new ConfigError(problems);
  const e = parsed.data;

  const disabledVendors: AppConfig['disabledVendors'] = [];
  /** All-or-nothing credential groups: none set → vendor disabled; some set → an error naming the rest. */
  const group = (vendor: string, vars: Record<string, string | undefined>): boolean => {
    const missing = Object.entries(vars).filter(([, v]) => v === undefined).map(([k]) => k);
    if (missing.length === Object.keys(vars).length) {
      disabledVendors.push({ vendor, missing });
      return false;
    }
    for (const name of missing) problems.push(`${name}: required to enable ${vendor} (other ${vendor} credentials are set)`);
    return missing.length === 0;
  };

  const vendors: VendorConfigs = {};
  if (group('mantago', { MANTAGO_BOT_ID: e.MANTAGO_BOT_ID, MANTAGO_TOKEN: e.MANTAGO_TOKEN, MANTAGO_SECRET: e.MANTAGO_SECRET })) {
    vendors.mantago = {
      baseUrl: e.MANTAGO_BASE_URL, botId: e.MANTAGO_BOT_ID!, token: e.MANTAGO_TOKEN!, secret: e.MANTAGO_SECRET!,
      rateLimit: e.MANTAGO_RATE_LIMIT, batchMax: e.MANTAGO_BATCH_MAX, batchLingerMs: e.MANTAGO_BATCH_LINGER_MS,
    };
  }
  if (group('joinchat', { JOINCHAT_PAGE_ID: e.JOINCHAT_PAGE_ID, JOINCHAT_SECRET: e.JOINCHAT_SECRET })) {
    vendors.joinchat = {
      baseUrl: e.JOINCHAT_BASE_URL, pageId: e.JOINCHAT_PAGE_ID!, secret: e.JOINCHAT_SECRET!,
      signatureHeader: e.JOINCHAT_SIGNATURE_HEADER, rateLimit: e.JOINCHAT_RATE_LIMIT, pageIdFormat: e.JOINCHAT_PAGE_ID_FORMAT,
    };
  }
  if (group('metabot', { METABOT_BOT_ID: e.METABOT_BOT_ID, METABOT_TOKEN: e.METABOT_TOKEN })) {
    vendors.metabot = {
      baseUrl: e.METABOT_BASE_URL, botId: e.METABOT_BOT_ID!, token: e.METABOT_TOKEN!,
      timezone: e.METABOT_TIMEZONE, rateLimit: e.METABOT_RATE_LIMIT, authHeader: e.METABOT_AUTH_HEADER,
    };
  }
  const twin24Auth = twin24AuthFrom(e, problems);
  if (group('twin24', { 'TWIN24_TOKEN or TWIN24_EMAIL+TWIN24_PASSWORD': twin24Auth ? 'set' : undefined, TWIN24_BOT_ID: e.TWIN24_BOT_ID, TWIN24_CHAT_ID: e.TWIN24_CHAT_ID }) && twin24Auth) {
    vendors.twin24 = {
      iamUrl: e.TWIN24_IAM_URL, notifyUrl: e.TWIN24_NOTIFY_URL, analyseUrl: e.TWIN24_ANALYSE_URL,
      auth: twin24Auth, botId: e.TWIN24_BOT_ID!, chatId: e.TWIN24_CHAT_ID!,
      rateLimit: e.TWIN24_RATE_LIMIT, batchMax: e.TWIN24_BATCH_MAX, batchLingerMs: e.TWIN24_BATCH_LINGER_MS,
      pollEveryMs: e.TWIN24_POLL_EVERY, correlateMaxAgeMs: e.TWIN24_CORRELATE_MAX_AGE,
      correlateWindowMs: e.TWIN24_CORRELATE_WINDOW, statsPageSize: e.TWIN24_STATS_PAGE_SIZE,
      sessionLookup: e.TWIN24_SESSION_LOOKUP, resultKeys: list(e.TWIN24_RESULT_KEYS),
      sessionFields: e.TWIN24_SESSION_FIELDS ? list(e.TWIN24_SESSION_FIELDS) : [...new Set([...SEED_SESSION_FIELDS, ...list(e.TWIN24_RESULT_KEYS)])],
    };
  }
  // BullMQ's scripts touch several keys of a queue at once; on a cluster they must share one slot.
  if (e.REDIS_CLUSTER_NODES && !/\{[^}]+\}/.test(e.QUEUE_PREFIX)) {
    problems.push(`QUEUE_PREFIX: must hold a hash tag on Redis Cluster, e.g. {${e.QUEUE_PREFIX}} (REDIS_CLUSTER_NODES is set)`);
  }
  if (e.RESULTS_WEBHOOK_URL && !e.RESULTS_WEBHOOK_SECRET) problems.push('RESULTS_WEBHOOK_SECRET: required when RESULTS_WEBHOOK_URL is set (the webhook is always signed)');
  if (e.RESULTS_WEBHOOK_URL && !httpsOrLoopback(e.RESULTS_WEBHOOK_URL)) problems.push('RESULTS_WEBHOOK_URL: must be https:// (plain http only to localhost / 127.0.0.1 / ::1): the notifications carry customer data');
  for (const [i, secret] of (e.RESULTS_WEBHOOK_SECRET ?? '').split(',').map((x) => x.trim()).filter(Boolean).entries()) {
    const bytes = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64').length : Buffer.byteLength(secret);
    if (bytes < MIN_WEBHOOK_SECRET_BYTES) problems.push(`RESULTS_WEBHOOK_SECRET: secret #${i + 1} is ${bytes} bytes; at least ${MIN_WEBHOOK_SECRET_BYTES} are required (e.g. whsec_ followed by \`openssl rand -base64 32\`)`);
  }
  if (e.OUTBOX_LISTEN && e.OUTBOX_DATABASE_URL && !/^postgres(ql)?:/.test(e.OUTBOX_DATABASE_URL)) problems.push('OUTBOX_LISTEN: LISTEN/NOTIFY needs a PostgreSQL OUTBOX_DATABASE_URL');
  if (Boolean(e.DASHBOARD_USER) !== Boolean(e.DASHBOARD_PASSWORD)) problems.push('DASHBOARD_USER / DASHBOARD_PASSWORD: set both or neither');
  if (Boolean(e.DASHBOARD_OPERATOR_USER) !== Boolean(e.DASHBOARD_OPERATOR_PASSWORD)) problems.push('DASHBOARD_OPERATOR_USER / DASHBOARD_OPERATOR_PASSWORD: set both or neither');
  if (e.DASHBOARD_OPERATOR_USER && e.DASHBOARD_OPERATOR_USER === e.DASHBOARD_USER) problems.push('DASHBOARD_OPERATOR_USER: must differ from DASHBOARD_USER (the user name decides the role)');
  // A lock that expires while this worker still owns the request lets a second worker send the same delivery.
  const longestLinger = Math.max(e.MANTAGO_BATCH_LINGER_MS, e.TWIN24_BATCH_LINGER_MS);
  const lockNeeds = 2 * (e.VENDOR_TIMEOUT + longestLinger) + e.LEDGER_WRITE_RETRY;
  if (e.DELIVERY_LOCK_DURATION < lockNeeds) {
    problems.push(`DELIVERY_LOCK_DURATION: must be at least 2 × (VENDOR_TIMEOUT + batch linger) + LEDGER_WRITE_RETRY = ${lockNeeds} ms`);
  }
  if (problems.length) throw new ConfigError(problems);

  return {
    redis: { url: e.REDIS_URL, clusterNodes: e.REDIS_CLUSTER_NODES?.split(',').map((s) => s.trim()).filter(Boolean) },
    queuePrefix: e.QUEUE_PREFIX,
    routesFile: e.ROUTES_FILE,
    logLevel: e.LOG_LEVEL,
    idempotencyWindowMs: e.IDEMPOTENCY_WINDOW,
    orderRetentionMs: e.ORDER_RETENTION,
    jobs: {
      keepCompletedMs: e.KEEP_COMPLETED_JOBS, keepFailedMs: e.KEEP_FAILED_JOBS, keepFailedCount: e.KEEP_FAILED_JOBS_COUNT },
    locks: { lockDurationMs: e.DELIVERY_LOCK_DURATION, stalledIntervalMs: e.STALLED_INTERVAL, maxStalledCount: e.MAX_STALLED_COUNT },
    delivery: {
      attempts: e.DELIVERY_ATTEMPTS, backoffMs: e.DELIVERY_BACKOFF, backoffMaxMs: e.DELIVERY_BACKOFF_MAX,
      concurrency: e.DELIVERY_CONCURRENCY, vendorTimeoutMs: e.VENDOR_TIMEOUT, defaultRateLimitPauseMs: e.RATE_LIMIT_DEFAULT_PAUSE,
      maxResponseBytes: e.VENDOR_MAX_RESPONSE_BYTES, ledgerWriteRetryMs: e.LEDGER_WRITE_RETRY,
    },
    fanoutConcurrency: e.FANOUT_CONCURRENCY,
    vendors,
    disabledVendors,
    results: {
      webhookUrl: e.RESULTS_WEBHOOK_URL, webhookSecret: e.RESULTS_WEBHOOK_SECRET, queueEnabled: e.RESULTS_QUEUE_ENABLED, queueMax: e.RESULTS_QUEUE_MAX,
    },
    http: {
      port: e.HTTP_PORT, metricsPort: e.METRICS_PORT, ingestToken: e.INGEST_TOKEN, ordersReadToken: e.ORDERS_READ_TOKEN,
      bodyLimit: e.INGEST_BODY_LIMIT, authFailureLimit: e.AUTH_FAILURE_LIMIT, trustProxy: e.TRUST_PROXY,
      dashboard: {
        enabled: e.DASHBOARD_ENABLED, user: e.DASHBOARD_USER, password: e.DASHBOARD_PASSWORD,
        operator: e.DASHBOARD_OPERATOR_USER && e.DASHBOARD_OPERATOR_PASSWORD ? { user: e.DASHBOARD_OPERATOR_USER, password: e.DASHBOARD_OPERATOR_PASSWORD } : undefined,
      },
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
    outbox: e.OUTBOX_DATABASE_URL ? {
      databaseUrl: e.OUTBOX_DATABASE_URL, table: e.OUTBOX_TABLE, pollEveryMs: e.OUTBOX_POLL_EVERY, batchSize: e.OUTBOX_BATCH_SIZE,
      afterEnqueue: e.OUTBOX_AFTER_ENQUEUE, retentionMs: e.OUTBOX_RETENTION, listenChannel: e.OUTBOX_LISTEN ? e.OUTBOX_LISTEN_CHANNEL : null,
    } : undefined,
    sendWindow: { defaultTimeZone: e.SEND_WINDOW_TIMEZONE, spreadMs: e.SEND_WINDOW_SPREAD },
  };
}

function twin24AuthFrom(e: Env, problems: string[]): Twin24Config['auth'] | undefined {
  if (e.TWIN24_TOKEN) return { kind: 'static', token: e.TWIN24_TOKEN };
  if (e.TWIN24_EMAIL && e.TWIN24_PASSWORD) {
    return { kind: 'login', email: e.TWIN24_EMAIL, password: e.TWIN24_PASSWORD, companyId: e.TWIN24_COMPANY_ID, ttlSec: e.TWIN24_TOKEN_TTL };
  }
  if (e.TWIN24_EMAIL || e.TWIN24_PASSWORD) problems.push(`${e.TWIN24_EMAIL ? 'TWIN24_PASSWORD' : 'TWIN24_EMAIL'}: required with the other one (or set TWIN24_TOKEN)`);
  return undefined;
}
