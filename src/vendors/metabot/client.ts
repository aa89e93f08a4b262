import type { AxiosInstance } from 'axios';
import type { MetabotConfig } from '../../config/env.js';
import { PermanentVendorError } from '../../delivery/errors.js';
import type { VendorCallMetrics } from '../../delivery/types.js';
import { metabotAnswerSchema, metabotFailure, metabotMessage, metabotNoAnswer } from './errors.js';
import type { MetabotPayload } from './payload.js';
import { RunAtError, toPlatformRunAt } from './run-at.js';

export interface MetabotScheduled { jobId?: string }

/** The request body: the payload as is (tags are already comma-joined), with run_at in the platform's time. */
export function scheduleBody(payload: MetabotPayload, timeZone: string): string {
  const body = payload.run_at === undefined ? payload : { ...payload, run_at: toPlatformRunAt(payload.run_at, timeZone) };
  return JSON.stringify(body);
}

/** Metabot's Bot API for one bot: schedule a job (a script, trigger or broadcast) for a lead. */
export class MetabotClient {
  private readonly url: string;

  constructor(private readonly config: MetabotConfig, private readonly http: AxiosInstance, private readonly metrics?: VendorCallMetrics) {
    this.url = `${config.baseUrl.replace(/\/+$/, '')}/bots/${encodeURIComponent(config.botId)}/jobs/schedule`;
  }

  async schedule(payload: MetabotPayload): Promise<MetabotScheduled> {
    let rawBody: string;
    try {
      rawBody = scheduleBody(payload, this.config.timezone);
    } catch (e) {
      if (e instanceof RunAtError) throw new PermanentVendorError(e.message, { vendor: 'metabot' });
      throw e;
    }
    const started = performance.now();
    const observe = (status: number | 'error') => this.metrics?.observeCall('metabot', 'jobs/schedule', status, (performance.now() - started) / 1000);
    let res;
    try {
      res = await this.http.post<unknown>(this.url, rawBody, {
        // The header name is a setting (METABOT_AUTH_HEADER): Swagger and integrations use Authorization, the seed
        // names it "Authentication"; the value is `Bearer <token>` either way (a guess for the seed's form).
        headers: { 'content-type': 'application/json', accept: 'application/json', [(this.config.authHeader ?? 'Authorization').toLowerCase()]: `Bearer ${this.config.token}` },
        // Every status is classified below; an axios HTTP error would carry the Authorization header around.
        validateStatus: () => true,
      });
    } catch (err) {
      observe('error');
      throw metabotNoAnswer(err);
    }
    observe(res.status);
    const parsed = metabotAnswerSchema.safeParse(res.data);
    const answer = parsed.success ? parsed.data : undefined;
    if (res.status < 200 || res.status >= 300) throw metabotFailure(res.status, answer, res.headers['retry-after']);
    if (answer?.success === false) {
      // A 2xx that says it failed: nothing was scheduled, and retrying the same body would fail the same way.
      throw new PermanentVendorError(metabotMessage(answer, res.status), { vendor: 'metabot', status: res.status, code: res.status });
    }
    const jobId = answer?.data?.job_id ?? answer?.job_id ?? answer?.data?.id ?? answer?.id;
    return { jobId: jobId !== undefined ? String(jobId) : undefined };
  }
}
