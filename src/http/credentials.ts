import type { AppConfig } from '../config/env.js';
import { EXIT, StartupError } from '../runtime/exit-codes.js';
import { generateSecret, type BasicUser, type ScopedToken } from './auth.js';
import type { DashboardRole } from './dashboard-policy.js';

/**
 * Shortest secrets the API accepts: a bearer token is 128 bits or more of randomness when made as advised
 * (`openssl rand -hex 32` gives 64 characters); a dashboard password is typed by people, so a little shorter.
 */
export const MIN_TOKEN_LENGTH = 24;
export const MIN_PASSWORD_LENGTH = 16;

export const SCOPES = { ingest: 'ingest', readOrders: 'orders:read' } as const;

export interface ApiCredentials {
  ingestToken: string;
  /** Reads per-order records; absent means GET /v1/orders/{id} refuses every caller. */
  ordersReadToken?: string;
  /** Absent when the dashboard is disabled: the read-only user first, then the optional operator. */
  dashboard?: { user: string; password: string };
  dashboardOperator?: { user: string; password: string };
  /** Which of them were generated for this run (out-of-the-box mode): the caller prints these. */
  generated: Array<'ingestToken' | 'ordersReadToken' | 'dashboard'>;
}

export function bearerTokens(c: ApiCredentials): ScopedToken[] {
  return [{ token: c.ingestToken, scope: SCOPES.ingest }, ...(c.ordersReadToken ? [{ token: c.ordersReadToken, scope: SCOPES.readOrders }] : [])];
}

export function dashboardUsers(c: ApiCredentials): Array<BasicUser<DashboardRole>> {
  return [
    ...(c.dashboard ? [{ ...c.dashboard, role: 'viewer' as const }] : []),
    ...(c.dashboardOperator ? [{ ...c.dashboardOperator, role: 'operator' as const }] : []),
  ];
}

/**
 * The API never runs open or on guessable secrets: without INGEST_TOKEN (or dashboard credentials while the
 * dashboard is on), or with one shorter than the minimum, it refuses to start, naming what to set. Only the
 * explicit out-of-the-box mode generates missing ones instead (long random values).
 */
export function resolveApiCredentials(http: AppConfig['http'], opts: { generate?: boolean } = {}): ApiCredentials {
  const problems: string[] = [];
  const generated: ApiCredentials['generated'] = [];
  const tooShort = (name: string, value: string | undefined, min: number) => {
    if (value !== undefined && value.length < min) problems.push(`${name}: ${value.length} characters; at least ${min} are required (e.g. \`openssl rand -hex 32\`).`);
  };
  let ingestToken = http.ingestToken;
  if (!ingestToken) {
    if (opts.generate) {
      ingestToken = generateSecret();
      generated.push('ingestToken');
    } else {
      problems.push('INGEST_TOKEN: not set, so POST /v1/events/order-paid would be open to anyone. Set it to a long random value, e.g. `openssl rand -hex 32`.');
    }
  }
  let ordersReadToken = http.ordersReadToken;
  if (!ordersReadToken && opts.generate) {
    ordersReadToken = generateSecret();
    generated.push('ordersReadToken');
  }
  tooShort('INGEST_TOKEN', http.ingestToken, MIN_TOKEN_LENGTH);
  tooShort('ORDERS_READ_TOKEN', http.ordersReadToken, MIN_TOKEN_LENGTH);
  if (http.ordersReadToken && http.ordersReadToken === http.ingestToken) problems.push('ORDERS_READ_TOKEN: must differ from INGEST_TOKEN (each token has its own scope).');
  let dashboard: ApiCredentials['dashboard'];
  let dashboardOperator: ApiCredentials['dashboardOperator'];
  if (http.dashboard.enabled) {
    if (http.dashboard.user && http.dashboard.password) {
      dashboard = { user: http.dashboard.user, password: http.dashboard.password };
      tooShort('DASHBOARD_PASSWORD', http.dashboard.password, MIN_PASSWORD_LENGTH);
    } else if (opts.generate) {
      dashboard = { user: 'admin', password: generateSecret(18) };
      generated.push('dashboard');
    } else {
      problems.push('DASHBOARD_USER / DASHBOARD_PASSWORD: not set, so the queue dashboard (/admin/queues) would be open. Set both, or DASHBOARD_ENABLED=false.');
    }
    dashboardOperator = http.dashboard.operator;
    tooShort('DASHBOARD_OPERATOR_PASSWORD', dashboardOperator?.password, MIN_PASSWORD_LENGTH);
  }
  if (problems.length) {
    throw new StartupError(`The API refuses to start:\n${problems.map((p) => `  - ${p}`).join('\n')}`, EXIT.config);
  }
  return { ingestToken: ingestToken!, ordersReadToken, dashboard, dashboardOperator, generated };
}
