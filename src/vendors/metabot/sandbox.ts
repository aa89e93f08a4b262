import { z } from 'zod';
import { describeIssues } from '../../sandbox/issues.js';
import type { Outcome, VendorRequest, VendorRoute } from '../../sandbox/recorder.js';
import type { SandboxCredentials } from '../../sandbox/types.js';

/** Metabot: schedule a job (a script, trigger or broadcast) in a bot. Errors follow Laravel: 401, 404, 422. */

type MetabotCredentials = SandboxCredentials['metabot'];

export const METABOT_DEFAULTS: MetabotCredentials = { botId: '4242', token: 'sandbox-metabot-token', authHeader: 'Authorization' };

const SELECTORS = ['script_id', 'script_code', 'trigger_id', 'trigger_code', 'broadcast_id', 'broadcast_code'] as const;

/** "YYYY-MM-DD hh:mm:ss" exactly, and a real calendar time (no 2024-02-30, no 25:00:00). */
function isRunAt(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
    && date.getUTCHours() === hour && date.getUTCMinutes() === minute && date.getUTCSeconds() === second;
}

const int = z.number().int('must be an integer');
const tags = z.string().regex(/^\s*[^,\s][^,]*(,\s*[^,\s][^,]*)*$/, 'must be comma-separated tags, e.g. "tag1,tag2"');

const jobSchema = z
  .object({
    script_id: int.positive().optional(),
    trigger_id: int.positive().optional(),
    broadcast_id: int.positive().optional(),
    script_code: z.string().min(1).optional(),
    trigger_code: z.string().min(1).optional(),
    broadcast_code: z.string().min(1).optional(),
    lead_id: int.positive().optional(),
    ticket_id: int.positive().optional(),
    run_at: z.string().refine(isRunAt, 'must be "YYYY-MM-DD hh:mm:ss", e.g. "2021-01-21 21:00:00"').optional(),
    run_after_sec: int.nonnegative('must not be negative').optional(),
    is_periodic: z.boolean().optional(),
    repeat_interval_sec: int.optional(),
    condition_script_code: z.string().optional(),
    script_request_params: z.record(z.string(), z.unknown()).optional(),
    add_tags: tags.optional(),
    remove_tags: tags.optional(),
  })
  .superRefine((job, ctx) => {
    const given = SELECTORS.filter((k) => job[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `exactly one of ${SELECTORS.join(', ')} is required${given.length > 1 ? ` (got ${given.join(', ')})` : ''}`,
      });
    }
  });

export class MetabotBot {
  readonly credentials: MetabotCredentials;
  private nextJobId = 1;

  constructor(overrides: Partial<MetabotCredentials> = {}) {
    this.credentials = { ...METABOT_DEFAULTS, ...overrides };
  }

  routes(): VendorRoute[] {
    return [{ method: 'POST', url: '/bots/:botId/jobs/schedule', kind: 'send', handle: (req) => this.schedule(req) }];
  }

  private schedule(req: VendorRequest): Outcome {
    const fail = (status: number, message: string): Outcome => ({ status, body: { success: false, message }, reason: message });
    const header = this.credentials.authHeader;
    const auth = req.headers[header.toLowerCase()];
    if (auth === undefined) return fail(401, `Unauthenticated: missing "${header}: Bearer <token>"`);
    if (auth !== `Bearer ${this.credentials.token}`) return fail(401, 'Unauthenticated: invalid token');
    if (req.params.botId !== this.credentials.botId) return fail(404, `Bot ${req.params.botId ?? ''} not found`);

    const body = req.json;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return fail(422, `The body must be a JSON object: ${req.jsonError ?? 'got something else'}`);
    }
    const parsed = jobSchema.safeParse(body);
    if (!parsed.success) return fail(422, describeIssues(parsed.error).join('; '));
    return { status: 200, body: { success: true, data: { job_id: this.nextJobId++ } } };
  }
}
