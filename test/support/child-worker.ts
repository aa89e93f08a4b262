import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';
import { sleep } from './wait.js';

/**
 * A real order-notify process (`node --import tsx workers/<name>.ts`) for fault tests: started with its own
 * environment, ready once its probe port answers /readyz, and stoppable with any signal. `npx`/`tsx` wrappers are
 * avoided because they do not forward SIGKILL to the node process that holds the jobs.
 */
export interface ChildWorker {
  entry: string;
  pid: number;
  /** The port serving /healthz and /readyz (METRICS_PORT, or HTTP_PORT for the API; /metrics only on METRICS_PORT). */
  port: number;
  url: string;
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** Sends a signal and waits for the process to be gone. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exited(): boolean;
  /** How many JSON log lines carried this `msg` over the whole run (e.g. "delivered": what this process sent). */
  logCount(msg: string): number;
}

export interface ChildWorkerOptions {
  /** The API listens on HTTP_PORT; every worker-only process on METRICS_PORT. */
  portVariable?: 'METRICS_PORT' | 'HTTP_PORT';
  readyTimeoutMs?: number;
  /** Arguments after the entry, e.g. `['start', 'fanout', 'twin24']` for the CLI (src/cli.ts). */
  args?: string[];
  /** Lines of output kept (default 200); `Infinity` for a test that checks the whole output (no secret in any line). */
  keepLines?: number;
}

const KEEP_LINES = 200;

export async function startChildWorker(entry: string, env: Record<string, string>, opts: ChildWorkerOptions = {}): Promise<ChildWorker> {
  const port = await freePort();
  const variable = opts.portVariable ?? 'METRICS_PORT';
  // Only what the process needs: no REDIS_URL or the like leaking in from the test runner's environment.
  // The API process also opens METRICS_PORT (its /metrics): any free port unless the test chose one.
  const metricsPort = variable === 'HTTP_PORT' ? { METRICS_PORT: '0' } : {};
  const childEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...metricsPort, ...env, [variable]: String(port) };
  const proc: ChildProcess = spawn(process.execPath, ['--import', 'tsx', entry, ...(opts.args ?? [])], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = opts.keepLines ?? KEEP_LINES;
  const counts = new Map<string, number>();
  // A chunk may end mid-line: each stream keeps its unfinished line until the rest arrives.
  const reader = () => {
    let partial = '';
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts.filter(Boolean)) {
        lines.push(line);
        if (line.startsWith('{')) {
          try {
            const msg = (JSON.parse(line) as { msg?: unknown }).msg;
            if (typeof msg === 'string') counts.set(msg, (counts.get(msg) ?? 0) + 1);
          } catch { /* not a log line */ }
        }
      }
      if (lines.length > keep) lines.splice(0, lines.length - keep);
    };
  };
  proc.stdout!.on('data', reader());
  proc.stderr!.on('data', reader());
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const gone = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => { exit = { code, signal }; resolve(exit); });
  });

  const url = `http://127.0.0.1:${port}`;
  const child: ChildWorker = {
    entry,
    pid: proc.pid!,
    port,
    url,
    output: () => lines.join('\n'),
    exited: () => exit !== undefined,
    logCount: (msg) => counts.get(msg) ?? 0,
    async kill(signal = 'SIGTERM') {
      if (!exit) proc.kill(signal);
      return gone;
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exit) throw new Error(`${entry} exited (${JSON.stringify(exit)}) before it was ready:\n${child.output()}`);
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.ok, () => false);
    if (ok) return child;
    if (Date.now() > deadline) {
      await child.kill('SIGKILL');
      throw new Error(`${entry} was not ready within ${opts.readyTimeoutMs ?? 30_000} ms:\n${child.output()}`);
    }
    await sleep(100);
  }
}
