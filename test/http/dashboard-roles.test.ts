import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_ORDER_PAID } from '../../src/events/sample.js';
import { allQueueNames, deliveryQueueName, QUEUES } from '../../src/queues/names.js';
import { VENDORS } from '../../src/vendors/registry.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { basicAuth, DASHBOARD_PASSWORD, DASHBOARD_USER, failOneJob, OPERATOR_PASSWORD, OPERATOR_USER, postEvent, startApi, type RunningApi } from './harness.js';

const operator = () => basicAuth(OPERATOR_USER, OPERATOR_PASSWORD);
const viewer = () => basicAuth(DASHBOARD_USER, DASHBOARD_PASSWORD);

describe('dashboard roles over HTTP', () => {
  let redis: TestRedis;
  let run: RunningApi;
  let board: (path: string, init?: RequestInit & { auth?: string }) => Promise<Response>;
  const queues = new Map<string, Queue>();

  beforeAll(async () => {
    redis = await startRedis();
    run = await startApi(redis.url, { DASHBOARD_OPERATOR_USER: OPERATOR_USER, DASHBOARD_OPERATOR_PASSWORD: OPERATOR_PASSWORD, AUTH_FAILURE_LIMIT: '1000/1m' });
    board = (path, init = {}) => fetch(`${run.url}/admin/queues/api${path}`, {
      ...init, headers: { authorization: init.auth ?? viewer(), ...(init.body ? { 'content-type': 'application/json' } : {}) },
    });
    for (const name of allQueueNames(VENDORS)) queues.set(name, new Queue(name, { connection: { url: redis.url }, prefix: run.config.queuePrefix }));
    expect((await postEvent(run.url, { ...SAMPLE_ORDER_PAID, orderId: 'ROLE-1' })).status).toBe(202);
    await failOneJob(redis.url, run.config.queuePrefix, deliveryQueueName('mantago'), 'deliver-fail-1');
    await failOneJob(redis.url, run.config.queuePrefix, deliveryQueueName('mantago'), 'deliver-fail-2');
  });
  afterAll(async () => {
    await Promise.all([...queues.values()].map((q) => q.close()));
    await run?.close();
    await redis?.stop();
  });

  async function snapshot() {
    return Promise.all([...queues.values()].map(async (q) => ({ name: q.name, paused: await q.isPaused(), counts: await q.getJobCounts() })));
  }

  it('nobody can add a job, edit data, pause, empty or obliterate, on any queue (403 for every role)', async () => {
    const before = await snapshot();
    const ordersJob = (await queues.get(QUEUES.orders)!.getJobs(['waiting']))[0]!;
    let checked = 0;
    for (const auth of [viewer(), operator()]) {
      for (const name of allQueueNames(VENDORS)) {
        const q = encodeURIComponent(name);
        const attempts: Array<[string, RequestInit]> = [
          [`/queues/${q}/add`, { method: 'POST', body: JSON.stringify({ name: 'x', data: { recipient: 'anyone', text: 'phish' } }) }],
          [`/queues/${q}/${encodeURIComponent(ordersJob.id!)}/update-data`, { method: 'PATCH', body: JSON.stringify({ jobData: { orderId: 'x' } }) }],
          [`/queues/${q}/pause`, { method: 'PUT' }],
          [`/queues/${q}/empty`, { method: 'PUT' }],
          [`/queues/${q}/obliterate`, { method: 'PUT', body: JSON.stringify({}) }],
          [`/queues/${q}/retry/completed`, { method: 'PUT' }],
          [`/queues/${q}/clean/completed`, { method: 'PUT' }],
          [`/queues/${q}/rate-limit`, { method: 'PUT', body: JSON.stringify({ max: 1, duration: 1000 }) }],
        ];
        for (const [path, init] of attempts) {
          const res = await board(path, { ...init, auth });
          expect(res.status, `${init.method} ${path}`).toBe(403);
          checked++;
        }
      }
      expect((await board('/queues/pause', { method: 'PUT', auth })).status).toBe(403);
    }
    expect(checked).toBe(2 * allQueueNames(VENDORS).length * 8);
    // Nothing moved: same counts, nothing paused, the orders job's data untouched.
    expect(await snapshot()).toEqual(before);
    expect((await queues.get(QUEUES.orders)!.getJob(ordersJob.id!))!.data.orderId).toBe('ROLE-1');
  });

  it('tells the UI a viewer is read-only and an operator may retry', async () => {
    const flags = async (auth: string) => ((await (await board('/queues?activeQueue=orders', { auth })).json()) as
      { queues: Array<{ readOnlyMode: boolean; allowRetries: boolean; allowCompletedRetries: boolean }> }).queues;
    expect((await flags(viewer())).every((q) => q.readOnlyMode && !q.allowRetries)).toBe(true);
    expect((await flags(operator())).every((q) => !q.readOnlyMode && q.allowRetries && !q.allowCompletedRetries)).toBe(true);
  });

  it('a viewer cannot retry a failed delivery; an operator can, and the action is logged with user and job id', async () => {
    const q = encodeURIComponent(deliveryQueueName('mantago'));
    const deliveries = queues.get(deliveryQueueName('mantago'))!;
    expect((await board(`/queues/${q}/deliver-fail-1/retry`, { method: 'PUT' })).status).toBe(403);
    expect((await board(`/queues/${q}/retry/failed`, { method: 'PUT' })).status).toBe(403);
    expect(await (await deliveries.getJob('deliver-fail-1'))!.getState()).toBe('failed');

    expect((await board(`/queues/${q}/deliver-fail-1/retry`, { method: 'PUT', auth: operator() })).status).toBe(204);
    expect(await (await deliveries.getJob('deliver-fail-1'))!.getState()).toBe('waiting');
    // A job that is not failed (waiting now) is neither retried nor removed from the board.
    expect((await board(`/queues/${q}/deliver-fail-1/clean`, { method: 'PUT', auth: operator() })).status).toBe(403);
    expect(await deliveries.getJob('deliver-fail-1')).toBeTruthy();
    // Removing a failed one is allowed.
    expect((await board(`/queues/${q}/deliver-fail-2/clean`, { method: 'PUT', auth: operator() })).status).toBe(204);
    expect(await deliveries.getJob('deliver-fail-2')).toBeUndefined();

    const audit = run.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'dashboard action');
    expect(audit).toEqual([
      expect.objectContaining({ user: OPERATOR_USER, role: 'operator', action: 'retry-job', queue: deliveryQueueName('mantago'), jobIds: ['deliver-fail-1'] }),
      expect.objectContaining({ user: OPERATOR_USER, role: 'operator', action: 'remove-job', jobIds: ['deliver-fail-2'] }),
    ]);
    const refused = run.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'dashboard action refused');
    expect(refused.some((l) => l.user === DASHBOARD_USER && l.role === 'viewer')).toBe(true);
  });

  it('the order timeline page accepts both logins (read-only) and still refuses strangers', async () => {
    for (const auth of [viewer(), operator()]) {
      const res = await fetch(`${run.url}/admin/orders`, { headers: { authorization: auth } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    }
    expect((await fetch(`${run.url}/admin/orders`)).status).toBe(401);
  });

  it("sends security headers on every page: CSP with frame-ancestors 'none', no framing", async () => {
    for (const [path, auth] of [['/admin/queues', viewer()], ['/admin/queues/queue/orders', operator()], ['/healthz', ''], ['/v1/events/order-paid', '']] as const) {
      const res = await fetch(`${run.url}${path}`, { headers: auth ? { authorization: auth } : {} });
      expect(res.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('content-security-policy'), path).toContain("script-src 'self'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
    }
  });
});
