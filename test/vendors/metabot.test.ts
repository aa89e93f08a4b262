import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { deliveryId } from '../../src/queues/job-ids.js';
import { METABOT_SELECTORS } from '../../src/vendors/metabot/payload.js';
import { waitFor } from '../support/wait.js';
import { capturingLogger, finalJobs, runWorkerProcess, startRig, type Rig } from './joinchat-metabot.harness.js';

let rig: Rig;
beforeAll(async () => { rig = await startRig(); });
afterAll(async () => { await rig?.close(); });
beforeEach(() => rig.sandbox.reset());
afterEach(async () => { await rig.cleanup(); });

const bodyOf = (leadId: number) => rig.sandbox.accepted('metabot').find((r) => (r.body as any).lead_id === leadId)!;

describe('Metabot end to end (producer → fan-out with routes.example.yaml → worker → sandbox)', () => {
  it('schedules the metabot-followup route byte for byte, with the bearer token, and keeps the job id', async () => {
    const config = rig.config();
    const { producer, records } = await rig.startPipeline('metabot', config);
    await producer.orderPaid(SAMPLE_ORDER_PAID);
    const id = deliveryId(SAMPLE_ORDER_PAID.orderId, 'metabot-followup');
    const { state } = (await finalJobs('metabot', config, rig.redis.url, [id])).get(id)!;
    expect(state).toBe('completed');

    const [request, ...others] = rig.sandbox.requests('metabot');
    expect(others).toEqual([]);
    expect(request).toMatchObject({ method: 'POST', path: '/bots/4242/jobs/schedule', status: 200, accepted: true });
    expect(request!.headers.authorization).toBe('Bearer sandbox-metabot-token');
    expect(request!.rawBody).toBe(
      '{"script_code":"order_paid_followup","lead_id":18273,"run_after_sec":3600,'
      + '"script_request_params":{"order_id":"SAMPLE-1001","total":1290,"currency":"THB","items":['
      + '{"name":"Jasmine rice 5 kg","quantity":2,"unitPrice":420,"sku":"RICE-5"},'
      + '{"name":"Fish sauce","quantity":3,"unitPrice":150}]},'
      + '"add_tags":"paid,THB"}',
    );
    const jobId = String((request!.response as { data: { job_id: number } }).data.job_id);
    expect(await records.getDelivery(SAMPLE_ORDER_PAID.orderId, id)).toMatchObject({ status: 'sent', vendorMessageId: jobId, attempts: 1 });
  });
});

describe('Metabot run_at, selectors and refusals', () => {
  it('converts an ISO run_at with offset to the platform\'s local time (Europe/Moscow, the default)', async () => {
    const config = rig.config();
    await rig.enqueue('metabot', config, [
      { id: 'at-offset', payload: { script_code: 's', lead_id: 1, run_at: '2026-07-01T12:00:00+07:00' } },
      { id: 'at-midnight', payload: { script_code: 's', lead_id: 2, run_at: '2026-12-31T21:00:00Z' } },
      { id: 'at-local', payload: { script_code: 's', lead_id: 3, run_at: '2026-01-21 21:00:00' } },
    ]);
    await rig.startWorkers('metabot', config);
    await finalJobs('metabot', config, rig.redis.url, ['at-offset', 'at-midnight', 'at-local']);
    expect(bodyOf(1).rawBody).toBe('{"script_code":"s","lead_id":1,"run_at":"2026-07-01 08:00:00"}');
    expect((bodyOf(2).body as any).run_at).toBe('2027-01-01 00:00:00');
    expect((bodyOf(3).body as any).run_at).toBe('2026-01-21 21:00:00');
  });

  it('uses METABOT_TIMEZONE, DST included (Europe/Berlin, either side of the spring change)', async () => {
    const config = rig.config({ METABOT_TIMEZONE: 'Europe/Berlin' });
    await rig.enqueue('metabot', config, [
      { id: 'cet', payload: { script_code: 's', lead_id: 11, run_at: '2026-03-29T00:30:00Z' } },
      { id: 'cest', payload: { script_code: 's', lead_id: 12, run_at: '2026-03-29T03:30:00+02:00' } },
    ]);
    await rig.startWorkers('metabot', config);
    await finalJobs('metabot', config, rig.redis.url, ['cet', 'cest']);
    expect((bodyOf(11).body as any).run_at).toBe('2026-03-29 01:30:00');
    expect((bodyOf(12).body as any).run_at).toBe('2026-03-29 03:30:00');
  });

  it('schedules each selector kind (script, trigger, broadcast × id, code)', async () => {
    const config = rig.config();
    const value = (k: string, i: number) => (k.endsWith('_id') ? (i % 2 ? String(10 + i) : 10 + i) : `code_${i}`);
    await rig.enqueue('metabot', config, METABOT_SELECTORS.map((k, i) => ({ id: `sel-${k}`, payload: { [k]: value(k, i), lead_id: 100 + i, add_tags: ['x', 'y'] } })));
    await rig.startWorkers('metabot', config);
    const jobs = await finalJobs('metabot', config, rig.redis.url, METABOT_SELECTORS.map((k) => `sel-${k}`));
    expect([...jobs.values()].map((j) => j.state)).toEqual(METABOT_SELECTORS.map(() => 'completed'));
    METABOT_SELECTORS.forEach((k, i) => {
      // ids travel as integers even when the rule wrote them as digit strings.
      expect(bodyOf(100 + i).body, k).toEqual({ [k]: k.endsWith('_id') ? 10 + i : `code_${i}`, lead_id: 100 + i, add_tags: 'x,y' });
    });
  });

  it('a bad token fails at once: permanent, 1 attempt, the reason names Metabot\'s message, the token is not logged', async () => {
    const config = rig.config({ METABOT_TOKEN: 'not-the-right-token' });
    const lines: string[] = [];
    await rig.enqueue('metabot', config, [{ id: 'badtoken', orderId: 'B-1', payload: { script_code: 's', lead_id: 5 } }]);
    const { records } = await rig.startWorkers('metabot', config, { logger: capturingLogger(lines, config) });
    const { job, state } = (await finalJobs('metabot', config, rig.redis.url, ['badtoken'])).get('badtoken')!;
    expect(state).toBe('failed');
    expect(job.failedReason).toBe('metabot 401: Unauthenticated: invalid token');
    expect(job.attemptsMade).toBe(1);
    expect(rig.sandbox.requests('metabot').map((r) => r.status)).toEqual([401]);
    expect(await records.getDelivery('B-1', 'badtoken')).toMatchObject({ status: 'failed', reason: 'metabot 401: Unauthenticated: invalid token', attempts: 1 });
    expect(lines.join('')).toMatch(/Unauthenticated: invalid token/);
    expect(lines.join('')).not.toContain('not-the-right-token');
  });
});

describe('workers/metabot.ts', () => {
  it('runs as its own process: schedules, answers /readyz, exits 0 on SIGTERM, never prints the token', async () => {
    const config = rig.config();
    await rig.enqueue('metabot', config, [{ id: 'proc-1', payload: { broadcast_code: 'b', lead_id: 42 } }]);
    const proc = await runWorkerProcess('workers/metabot.ts', rig, config);
    try {
      const { state } = (await finalJobs('metabot', config, rig.redis.url, ['proc-1'])).get('proc-1')!;
      expect(state).toBe('completed');
      expect((await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`)).status).toBe(200);
    } finally {
      expect(await proc.stop()).toBe(0);
    }
    await waitFor(() => proc.output().includes('"msg":"delivered"'), 'the delivered log line', 2_000);
    expect(proc.output()).not.toContain(rig.sandbox.credentials.metabot.token);
  });
});
