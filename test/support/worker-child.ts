import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

/**
 * A real worker process (`node --import tsx workers/<name>.ts`), as a deployment runs it. Spawned through node
 * itself, not npx, so SIGTERM reaches the worker and not a wrapper. Log lines (pino JSON on stdout) are kept so a
 * test can count what this one process did.
 */
export interface WorkerChild {
  readonly pid: number;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  /** Everything the process printed (stdout and stderr). */
  output(): string;
  /** Resolves once the process logged "process ready". */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then the exit code (SIGKILL after timeoutMs). */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function spawnWorker(entry: string, env: Record<string, string | undefined>): WorkerChild {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let partial = '';
  const lines: Array<Record<string, unknown>> = [];
  child.stdout!.on('data', (b: Buffer) => {
    const text = b.toString();
    out += text;
    const parts = (partial + text).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line (a stray print): kept in output() only
      }
    }
  });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return {
    pid: child.pid!,
    logs: () => lines,
    output: () => out,
    async ready(timeoutMs = 30_000) {
      await waitFor(() => {
        if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}: ${out.slice(-2_000)}`);
        return lines.some((l) => l.msg === 'process ready');
      }, `${entry} to log "process ready"`, timeoutMs);
    },
    async stop(timeoutMs = 15_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
