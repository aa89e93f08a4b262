import { z } from 'zod';
import { VENDOR_REGISTRY, VENDORS, type VendorConfigOf, type VendorName } from '../vendors/registry.js';
import type { VendorConfigSlice } from '../vendors/types.js';
import { durationMs, rateLimit, type RateLimit } from './duration.js';
import { bool, httpUrl as url, isTimeZone, optionalText, port, positiveInt, type CredentialGroup } from './env-fields.js';
import { describeIssue } from '../events/zod-issues.js';
import { KEY_LAYOUTS, keyspace, type KeyLayout, type Keyspace } from '../queues/keyspace.js';

/**
 * Every environment variable the project reads, parsed once at start-up.
 * A bad value stops start-up with one message naming every bad variable (see ConfigError).
 */
const coreSchema = z.object({
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
  /** Redis Cluster: several node URLs separated by commas, used instead of REDIS_URL. */
  REDIS_CLUSTER_NODES: optionalText,
  QUEUE_PREFIX: z.string().regex(/^[^:\s]+$/, 'must not contain ":" or spaces (use e.g. order-notify or {order-notify})').default('order-notify'),
  /** Key layout (queues/keyspace.ts): `single` keeps every key under QUEUE_PREFIX; `per-queue` tags each queue for Redis Cluster. */
  REDIS_KEY_LAYOUT: z.enum(KEY_LAYOUTS).default('single'),
  /** Vendors whose delivery queue is split into partitions, e.g. `metabot=4,twin24=2`. */
  QUEUE_PARTITIONS: z.string().regex(/^\s*([a-z0-9-]+\s*=\s*\d+\s*)?(,\s*[a-z0-9-]+\s*=\s*\d+\s*)*$/, 'must look like metabot=4,twin24=2').optional(),
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

  // Each vendor's variables live in its folder (src/vendors/<name>/config.ts) and are added below.

  RESULTS_WEBHOOK_URL: url.optional(),
  RESULTS_WEBHOOK_SECRET: optionalText,
  /** The results queue can be turned off when the monolith only uses the webhook (or nothing). */
  RESULTS_QUEUE_ENABLED: bool.default(true),
  /** Most jobs waiting in the results queue; above it the oldest waiting ones are trimmed (metric counts them). */
  RESULTS_QUEUE_MAX: positiveInt.default(100_000),
  /** Status changes per hand-back job (`order.notifications`); 1 = one `order.notification` job per change, as before. */
  RESULTS_BATCH_MAX: z.coerce.number().int().min(1).max(1_000).default(100),

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

/** A vendor's slice, its env shape erased: env.ts only passes the parsed variables through. */
const sliceOf = (v: VendorName) => VENDOR_REGISTRY[v].config as unknown as VendorConfigSlice<unknown, z.ZodRawShape>;

/** The core variables plus every registered vendor's, parsed in one pass so one message names every bad one. */
function envSchema() {
  return coreSchema.extend(Object.assign({}, ...VENDORS.map((v) => sliceOf(v).env)) as z.ZodRawShape);
}

type Env = z.infer<typeof coreSchema>;

/** Every variable the project reads (core and vendors), in declaration order. */
export function envVariableNames(): string[] {
  return Object.keys(envSchema().shape);
}

/** The vendor variables holding secrets, as each vendor's slice declares them. */
export function vendorSecretVariables(): string[] {
  return VENDORS.flatMap((v) => [...sliceOf(v).secretVars]);
}

export type { MantagoConfig } from '../vendors/mantago/config.js';
export type { JoinchatConfig } from '../vendors/joinchat/config.js';
export type { MetabotConfig } from '../vendors/metabot/config.js';
export type { Twin24Config } from '../vendors/twin24/config.js';
export { SEED_SESSION_FIELDS } from '../vendors/twin24/config.js';

/** Each enabled vendor's config, by vendor name (absent = disabled for lack of credentials). */
export type VendorConfigs = { [V in VendorName]?: VendorConfigOf<V> };

export interface AppConfig {
  redis: { url: string; clusterNodes?: string[] };
  queuePrefix: string;
  /** Where keys live (QUEUE_PREFIX + REDIS_KEY_LAYOUT): use keys.queuePrefix(queue) for BullMQ, keys.beside(group) for ours. */
  keys: Keyspace;
  keyLayout: KeyLayout;
  /** Delivery-queue partitions per vendor (absent = 1). */
  partitions: Record<string, number>;
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
  results: { webhookUrl?: string; webhookSecret?: string; queueEnabled: boolean; queueMax: number; batchMax: number };
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
  const parsed = envSchema().safeParse(cleaned);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => describeIssue({ ...i, path: i.path.slice(0, 1) }, { root: '(env)' }));
  if (!parsed.success) throw new ConfigError(problems);
  const e = parsed.data as Env;
  const all = parsed.data as Record<string, unknown>;

  const disabledVendors: AppConfig['disabledVendors'] = [];
  /** All-or-nothing credential groups: none set → vendor disabled; some set → an error naming the rest. */
  const group: CredentialGroup = (vendor, vars) => {
    const missing = Object.entries(vars).filter(([, v]) => v === undefined).map(([k]) => k);
    if (missing.length === Object.keys(vars).length) {
      disabledVendors.push({ vendor, missing });
      return false;
    }
    for (const name of missing) problems.push(`${name}: required to enable ${vendor} (other ${vendor} credentials are set)`);
    return missing.length === 0;
  };

  const vendors: Record<string, unknown> = {};
  for (const v of VENDORS) {
    const built = sliceOf(v).build(all, group, problems);
    if (built !== undefined) vendors[v] = built;
  }
  // BullMQ's scripts touch several keys of a queue at once; on a cluster they must share one slot.
  if (e.REDIS_KEY_LAYOUT === 'per-queue' && /[{}]/.test(e.QUEUE_PREFIX)) {
    problems.push('QUEUE_PREFIX: must not hold a hash tag with REDIS_KEY_LAYOUT=per-queue (each queue gets its own tag)');
  }
  const partitions = parsePartitions(e.QUEUE_PARTITIONS, problems);
  if (e.REDIS_CLUSTER_NODES && e.REDIS_KEY_LAYOUT === 'single' && !/\{[^}]+\}/.test(e.QUEUE_PREFIX)) {
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
  const longestLinger = Math.max(0, ...VENDORS.map((v) => sliceOf(v).lingerMs?.(all) ?? 0));
  const lockNeeds = 2 * (e.VENDOR_TIMEOUT + longestLinger) + e.LEDGER_WRITE_RETRY;
  if (e.DELIVERY_LOCK_DURATION < lockNeeds) {
    problems.push(`DELIVERY_LOCK_DURATION: must be at least 2 × (VENDOR_TIMEOUT + batch linger) + LEDGER_WRITE_RETRY = ${lockNeeds} ms`);
  }
  if (problems.length) throw new ConfigError(problems);

  return {
    redis: { url: e.REDIS_URL, clusterNodes: e.REDIS_CLUSTER_NODES?.split(',').map((s) => s.trim()).filter(Boolean) },
    queuePrefix: e.QUEUE_PREFIX,
    keys: keyspace(e.QUEUE_PREFIX, e.REDIS_KEY_LAYOUT),
    keyLayout: e.REDIS_KEY_LAYOUT,
    partitions,
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
    vendors: vendors as VendorConfigs,
    disabledVendors,
    results: {
      webhookUrl: e.RESULTS_WEBHOOK_URL, webhookSecret: e.RESULTS_WEBHOOK_SECRET, queueEnabled: e.RESULTS_QUEUE_ENABLED, queueMax: e.RESULTS_QUEUE_MAX, batchMax: e.RESULTS_BATCH_MAX,
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

/** `metabot=4,twin24=2` → { metabot: 4, twin24: 2 }; unknown vendors and counts outside 1..64 are problems. */
function parsePartitions(raw: string | undefined, problems: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (raw ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const [name, count] = part.split('=').map((x) => x.trim()) as [string, string];
    const n = Number(count);
    if (!(VENDORS as readonly string[]).includes(name)) problems.push(`QUEUE_PARTITIONS: unknown vendor "${name}" (known: ${VENDORS.join(', ')})`);
    else if (!Number.isInteger(n) || n < 1 || n > 64) problems.push(`QUEUE_PARTITIONS: ${name} must have 1 to 64 partitions, got ${count}`);
    else out[name] = n;
  }
  return out;
}
