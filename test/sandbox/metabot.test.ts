import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../support/ports.js';
import { post } from './http.js';

let sandbox: Sandbox;
const scheduleUrl = (botId = '4242') => `${sandbox.urls.metabot}/bots/${botId}/jobs/schedule`;
const auth = { authorization: 'Bearer sandbox-metabot-token' };
const schedule = (body: unknown, headers: Record<string, string> = auth, botId?: string) => post(scheduleUrl(botId), body, headers);
const last = () => sandbox.requests('metabot').at(-1)!;

beforeAll(async () => {
  sandbox = await startSandbox({ port: await freePort() });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('Metabot schedule', () => {
  it('schedules a job with every optional field and answers increasing job ids', async () => {
    const body = {
      script_code: 'order_paid', lead_id: 135, ticket_id: 7, run_at: '2021-01-21 21:00:00', run_after_sec: 300, is_periodic: false,
      repeat_interval_sec: 60, condition_script_code: 'if (leadId == 135) return true;', script_request_params: { order: { id: 'A-1' } },
      add_tags: 'paid,vip', remove_tags: 'cart',
    };
    const first = await schedule(body);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ success: true, data: { job_id: expect.any(Number) } });
    expect(Number.isInteger(first.body.data.job_id)).toBe(true);
    const second = await schedule({ script_id: 1 });
    expect(second.body.data.job_id).toBe(first.body.data.job_id + 1);
    expect(sandbox.accepted('metabot').map((r) => r.path)).toEqual(['/bots/4242/jobs/schedule', '/bots/4242/jobs/schedule']);
    expect(sandbox.accepted('metabot')[0]!.rawBody).toBe(JSON.stringify(body));
  });

  it.each(['script_id', 'script_code', 'trigger_id', 'trigger_code', 'broadcast_id', 'broadcast_code'])('accepts %s alone', async (key) => {
    const res = await schedule({ [key]: key.endsWith('_id') ? 3 : 'code_3', lead_id: 1 });
    expect(res.status).toBe(200);
  });

  it('answers 401 without or with a wrong token, and 404 for another bot', async () => {
    expect((await schedule({ script_id: 1 }, {})).status).toBe(401);
    expect(last().reason).toMatch(/missing "Authorization: Bearer/);
    const wrong = await schedule({ script_id: 1 }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ success: false, message: 'Unauthenticated: invalid token' });
    // The seed's "Authentication" header name is not what the platform reads.
    expect((await schedule({ script_id: 1 }, { authentication: 'Bearer sandbox-metabot-token' })).status).toBe(401);
    const otherBot = await schedule({ script_id: 1 }, auth, '99');
    expect(otherBot.status).toBe(404);
    expect(otherBot.body.message).toBe('Bot 99 not found');
    expect(sandbox.accepted('metabot')).toHaveLength(0);
  });

  it.each([
    ['no selector', { lead_id: 1 }, /exactly one of script_id, script_code, trigger_id, trigger_code, broadcast_id, broadcast_code/],
    ['two selectors', { script_id: 1, trigger_code: 'x' }, /\(got script_id, trigger_code\)/],
    ['a string script_id', { script_id: '1' }, /^script_id: /],
    ['a string lead_id', { script_id: 1, lead_id: '135' }, /^lead_id: /],
    ['a fractional lead_id', { script_id: 1, lead_id: 1.5 }, /^lead_id: must be an integer/],
    ['run_at with a T', { script_id: 1, run_at: '2021-01-21T21:00:00' }, /^run_at: must be "YYYY-MM-DD hh:mm:ss"/],
    ['run_at without seconds', { script_id: 1, run_at: '2021-01-21 21:00' }, /^run_at: /],
    ['run_at without leading zeros', { script_id: 1, run_at: '2021-1-21 21:00:00' }, /^run_at: /],
    ['run_at on February 30', { script_id: 1, run_at: '2021-02-30 10:00:00' }, /^run_at: /],
    ['run_at at 24:00:00', { script_id: 1, run_at: '2021-02-03 24:00:00' }, /^run_at: /],
    ['run_at with an offset', { script_id: 1, run_at: '2021-01-21 21:00:00+03:00' }, /^run_at: /],
    ['a negative run_after_sec', { script_id: 1, run_after_sec: -1 }, /^run_after_sec: must not be negative/],
    ['a string is_periodic', { script_id: 1, is_periodic: 'yes' }, /^is_periodic: /],
    ['a fractional repeat_interval_sec', { script_id: 1, repeat_interval_sec: 2.5 }, /^repeat_interval_sec: /],
    ['a non-string condition_script_code', { script_id: 1, condition_script_code: true }, /^condition_script_code: /],
    ['script_request_params as an array', { script_id: 1, script_request_params: [1] }, /^script_request_params: /],
    ['add_tags as an array', { script_id: 1, add_tags: ['a', 'b'] }, /^add_tags: /],
    ['add_tags with an empty tag', { script_id: 1, add_tags: 'a,,b' }, /^add_tags: must be comma-separated tags/],
    ['remove_tags empty', { script_id: 1, remove_tags: '' }, /^remove_tags: /],
  ])('answers 422 for %s', async (_name, body, reason) => {
    const res = await schedule(body);
    expect(res.status).toBe(422);
    expect(res.body.success).toBe(false);
    expect(res.body.message).toMatch(reason);
    expect(last()).toMatchObject({ status: 422, accepted: false, reason: res.body.message });
  });

  it('answers 422 for a body that is not a JSON object', async () => {
    expect((await schedule('script_id=1')).status).toBe(422);
    expect((await schedule([{ script_id: 1 }])).status).toBe(422);
  });
});
