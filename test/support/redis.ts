import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { sleep } from './wait.js';

export interface TestRedis {
  url: string;
  port: number;
  dir: string;
  /** Stops the server; with keepData the dir stays so the same server can be restarted on its AOF. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** Starts it again on the same port and dir (after stop({ keepData: true })). */
  restart(): Promise<void>;
  client(): Redis;
}

/**
 * A private redis-server on a free port with its own temp dir: tests never touch 6379 or each other.
 * AOF is on (appendfsync everysec) so restart tests see what production sees.
 */
export async function startRedis(extraArgs: string[] = []): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'order-notify-redis-'));
  let proc: ChildProcess | undefined;
  const clients: Redis[] = [];

  const launch = async () => {
    proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes',
        '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction', ...extraArgs],
      { stdio: 'ignore' },
    );
    await waitForPing(port);
  };
  await launch();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    client() {
      const c = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null, lazyConnect: false });
      clients.push(c);
      return c;
    },
    async stop(opts) {
      for (const c of clients.splice(0)) c.disconnect();
      if (proc && proc.exitCode === null) {
        const exited = new Promise((r) => proc!.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      if (!opts?.keepData) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await launch();
    },
  };
}

async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.ping();
      c.disconnect();
      return;
    } catch {
      c.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
      await sleep(50);
    }
  }
}
