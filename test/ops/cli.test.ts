import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { OrderRecords } from '../../src/orders/record.js';
import { freePort } from '../support/ports.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { waitFor } from '../support/wait.js';
import { mantagoJob } from './fixtures/fake-adapter.js';

const example = JSON.parse(readFileSync('examples/order-paid.json', 'utf8')) as Record<string, unknown>;

/** Runs the CLI in-process with captured output. */
async function cli(argv: string[], env: NodeJS.ProcessEnv, stdin = '') {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: { write: (s: string) => { stdout += s; } }, stderr: { write: (s: string) => { stderr += s; } },
    stdin: Readable.from([stdin]), env,
  });
  return { code, stdout, stderr };
}

/** The real entry point, for what only a process shows (exit codes, --help). */
function binary(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...argv], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('order-notify CLI', () => {
  let redis: TestRedis;
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let orders: Queue;

  beforeAll(async () => {
    redis = await startRedis();
    env = { REDIS_URL: redis.url, QUEUE_PREFIX: `c${Math.random().toString(36).slice(2, 8)}`, LOG_LEVEL: 'silent' };
    dir = mkdtempSync(join(tmpdir(), 'order-notify-cli-'));
    orders = new Queue('orders', { connection: { url: redis.url }, prefix: env.QUEUE_PREFIX });
  });
  afterAll(async () => {
    await orders?.close();
    await redis?.stop();
  });

  it('enqueue: a valid file → job id, then the same order again → duplicate', async () => {
    const file = join(dir, 'one.json');
    writeFileSync(file, JSON.stringify({ ...example, orderId: 'CLI-1' }));
    const first = await cli(['enqueue', file, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as { orderId: string; jobId: string; duplicate: boolean };
    expect(a).toMatchObject({ orderId: 'CLI-1', duplicate: false });
    const again = await cli(['enqueue', file], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`CLI-1\\s+${a.jobId.replace(/\./g, '\\.')}\\s+true`));
    expect((await orders.getJobs(['waiting'])).filter((j) => j.data.orderId === 'CLI-1')).toHaveLength(1);
  });

  it('enqueue -: an array from stdin, one line per event', async () => {
    const events = [{ ...example, orderId: 'CLI-2' }, { ...example, orderId: 'CLI-3' }];
    const r = await cli(['enqueue', '-', '--json'], env, JSON.stringify(events));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { orderId: string }).orderId)).toEqual(['CLI-2', 'CLI-3']);
  });

  it('enqueue: invalid input → exit 1 naming each bad field, and nothing is enqueued', async () => {
    const before = await orders.count();
    const bad = [{ ...example, orderId: 'CLI-OK' }, { ...example, orderId: 'CLI-BAD', currency: 'baht', items: [] }];
    const r = await cli(['enqueue', '-'], env, JSON.stringify(bad));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('1.currency');
    expect(r.stderr).toContain('1.items');
    expect(await orders.count()).toBe(before);
    const notJson = await cli(['enqueue', '-'], env, '{ nope');
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('not valid JSON');
    expect((await cli(['enqueue', join(dir, 'missing.json')], env)).code).toBe(1);
  });

  it('order: prints the record as a table or JSON; unknown → exit 3', async () => {
    const records = new OrderRecords(redis.client(), env.QUEUE_PREFIX!, 60_000);
    await records.markReceived('CLI-ORD');
    await records.update('CLI-ORD', 'wa.CLI-ORD', { vendor: 'twin24', ruleId: 'wa', status: 'correlated', chatId: 'chat-77', result: { answer: 'yes' } });
    const table = await cli(['order', 'CLI-ORD'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/RULE\s+VENDOR\s+STATUS/);
    expect(table.stdout).toMatch(/wa\s+twin24\s+correlated/);
    expect(table.stdout).toContain('chat-77');
    expect(table.stdout).toContain('{"answer":"yes"}');
    const json = await cli(['order', 'CLI-ORD', '--json'], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ orderId: 'CLI-ORD', deliveries: [{ status: 'correlated', chatId: 'chat-77' }] });
    const missing = await cli(['order', 'NOPE-404'], env);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('NOPE-404');
  });

  it('failed / retry-failed: lists a failed delivery with its reason, then moves it back to wait with fresh attempts', async () => {
    const queue = new Queue('deliver-mantago', { connection: { url: redis.url }, prefix: env.QUEUE_PREFIX });
    const job = mantagoJob('CLI-F');
    await queue.add('delivery', job, { jobId: job.deliveryId, attempts: 3 });
    const worker = new Worker('deliver-mantago', async () => { throw new UnrecoverableError('mantago 1002: client U4af4980629 not found'); }, {
      connection: { url: redis.url }, prefix: env.QUEUE_PREFIX,
    });
    await waitFor(async () => (await queue.getFailedCount()) === 1, 'the seeded job to fail');
    await worker.close();

    const list = await cli(['failed', '--vendor', 'mantago'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(job.deliveryId);
    expect(list.stdout).toContain('client U4af4980629 not found');
    expect(list.stdout).toContain('1 failed delivery job(s)');
    const json = JSON.parse((await cli(['failed', '--json'], env)).stdout) as { total: number; jobs: Array<{ orderId: string; rule: string }> };
    expect(json.total).toBe(1);
    expect(json.jobs[0]).toMatchObject({ orderId: 'CLI-F', rule: 'line-thanks' });
    expect((await cli(['failed', '--vendor', 'joinchat'], env)).stdout).toContain('no failed delivery jobs');

    const retry = await cli(['retry-failed', '--vendor', 'mantago'], env);
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.stdout).toContain('retried 1 failed delivery job(s) (mantago 1)');
    const back = (await queue.getJob(job.deliveryId))!;
    expect(await back.getState()).toBe('waiting');
    expect(back.attemptsMade).toBe(0);
    expect((await cli(['retry-failed'], env)).stdout).toContain('retried 0');
    await queue.close();
  });

  it('rejects an unknown vendor and bad options with exit 1', async () => {
    const r = await cli(['failed', '--vendor', 'telegram'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('mantago');
    expect((await cli(['failed', '--limit', 'lots'], env)).code).toBe(1);
    expect((await cli(['no-such-command'], env)).code).toBe(1);
  });

  it('exit 2 on bad configuration, 4 when Redis is unreachable', async () => {
    const bad = await cli(['order', 'X'], { ...env, REDIS_URL: 'localhost:6379' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('REDIS_URL');
    const down = await cli(['failed'], { ...env, REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(down.code).toBe(4);
  });

  it('--help on each command documents the exit codes', async () => {
    for (const c of ['start', 'enqueue', 'order', 'failed', 'retry-failed', 'sandbox']) {
      const sub = await cli([c, '--help'], env);
      expect(sub.code, c).toBe(0);
      expect(sub.stdout, c).toContain(`Usage: order-notify ${c}`);
      expect(sub.stdout, c).toContain('3  not found');
    }
    // The component list comes from WORKER_COMPONENTS plus the API.
    expect((await cli(['start', '--help'], env)).stdout).toMatch(/fanout, mantago,.*twin24-correlator.*api/s);
  });

  it('as a real process: --help, and exit codes reach the shell', () => {
    const help = binary(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['start', 'enqueue', 'order', 'failed', 'retry-failed', 'sandbox']) expect(help.stdout).toContain(c);
    expect(help.stdout).toContain('4  Redis unreachable');
    expect(binary(['order', 'NOPE-404'], env).code).toBe(3);
    const unknown = binary(['start', 'no-such-worker'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown component "no-such-worker"');
  });

  it('sandbox: serves the vendor sandbox alone, prints its URLs as one JSON line, exits 0 on SIGTERM', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'sandbox', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (c) => { out += String(c); });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const line = await waitFor(() => out.includes('\n') && out.split('\n')[0], 'the sandbox JSON line', 30_000);
    const info = JSON.parse(line) as { url: string; urls: Record<string, string>; credentials: Record<string, unknown> };
    expect(Object.keys(info.urls)).toEqual(expect.arrayContaining(['mantago', 'joinchat', 'metabot', 'twin24Iam']));
    const creds = await fetch(`${info.url}/_sandbox/credentials`);
    expect(creds.status).toBe(200);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
