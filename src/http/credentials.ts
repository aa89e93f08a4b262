import type { AppConfig } from '../config/env.js';
import { EXIT, StartupError } from '../runtime/exit-codes.js';
import { generateSecret } from './auth.js';

export interface ApiCredentials {
  ingestToken: string;
  /** Absent when the dashboard is disabled. */
  dashboard?: { user: string; password: string };
  /** Which of them were generated for this run (out-of-the-box mode): the caller prints these. */
  generated: Array<'ingestToken' | 'dashboard'>;
}

/**
 * The API never runs open: without INGEST_TOKEN (or dashboard credentials while the dashboard is on) it refuses
 * to start, naming what to set. Only the explicit out-of-the-box mode generates them instead.
 */
export function resolveApiCredentials(http: AppConfig['http'], opts: { generate?: boolean } = {}): ApiCredentials {
  const problems: string[] = [];
  const generated: ApiCredentials['generated'] = [];
  let ingestToken = http.ingestToken;
  if (!ingestToken) {
    if (opts.generate) {
      ingestToken = generateSecret();
      generated.push('ingestToken');
    } else {
      problems.push('INGEST_TOKEN: not set, so POST /v1/events/order-paid would be open to anyone. Set it to a long random value, e.g. `openssl rand -hex 32`.');
    }
  }
  let dashboard: ApiCredentials['dashboard'];
  if (http.dashboard.enabled) {
    if (http.dashboard.user && http.dashboard.password) {
      dashboard = { user: http.dashboard.user, password: http.dashboard.password };
    } else if (opts.generate) {
      dashboard = { user: 'admin', password: generateSecret(18) };
      generated.push('dashboard');
    } else {
      problems.push('DASHBOARD_USER / DASHBOARD_PASSWORD: not set, so the queue dashboard (/admin/queues) would be open. Set both, or DASHBOARD_ENABLED=false.');
    }
  }
  if (problems.length) {
    throw new StartupError(`The API refuses to start:\n${problems.map((p) => `  - ${p}`).join('\n')}`, EXIT.config);
  }
  return { ingestToken: ingestToken!, dashboard, generated };
}
