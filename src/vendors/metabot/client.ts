import type { AxiosInstance } from 'axios';
import type { MetabotConfig } from '../../config/env.js';
import { PermanentVendorError } from '../../delivery/errors.js';
import type { VendorCallMetrics } from '../../delivery/types.js';
import { isSuccess, request } from '../../http-client/request.js';
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
    let res;
    try {
      res = await request(this.http, {
        target: 'metabot', endpoint: 'jobs/schedule', url: this.url, body: rawBody, metrics: this.metrics,
        // The header name is a setting (METABOT_AUTH_HEADER): Swagger and integrations use Authorization, the seed
        // names it "Authentication"; the value is `Bearer <token>` either way (a guess for the seed's form).
        headers: { accept: 'application/json', [(this.config.authHeader ?? 'Authorization').toLowerCase()]: `Bearer ${this.config.token}` },
      });
    } catch (err) {
      throw metabotNoAnswer(err);
    }
    const parsed = metabotAnswerSchema.safeParse(res.data);
    const answer = parsed.success ? parsed.data : undefined;
    if (!isSuccess(res)) throw metabotFailure(res, answer);
    if (answer?.success === false) {
      // A 2xx that says it failed: nothing was scheduled, and retrying the same body would fail the same way.
      throw new PermanentVendorError(metabotMessage(answer, res.status), { vendor: 'metabot', status: res.status, code: res.status });
    }
    const jobId = answer?.data?.job_id ?? answer?.job_id ?? answer?.data?.id ?? answer?.id;
    return { jobId: jobId !== undefined ? String(jobId) : undefined };
  }
}
