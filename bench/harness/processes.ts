import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/support/ports.js';
import type { Runtime } from './runtime.js';

/**
 * Child processes the benchmarks run: real worker entries (workers/<name>.ts, compiled or through tsx, see
 * runtime.ts), the bare baseline worker. Spawned through node itself so SIGTERM reaches the process measured;
 * stdout/stderr go to a log file (reading them here would cost the bench process CPU).
 */
export interface NodeChild {
  name: string;
  pid: number;
  logFile: string;
  /** Resident memory now, from /proc (bytes); undefined once exited. */
  rssBytes(): number | undefined;
  /** User + system CPU time consumed so far (ms), from /proc. */
  cpuMs(): number | undefined;
  /** SIGTERM and wait (SIGKILL after timeoutMs); resolves to the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface SpawnOptions {
  name: string;
  runtime: Runtime;
  env: Record<string, string | undefined>;
  logDir: string;
  /** Write a V8 CPU profile here on exit (`--cpu-prof`). */
  profileDir?: string;
  /** Extra node flags. */
  nodeArgs?: string[];
  ipc?: boolean;
}

export function spawnNode(entry: string, opts: SpawnOptions): NodeChild & { process: ChildProcess } {
  const logFile = join(opts.logDir, `${opts.name}.log`);
  const fd = openSync(logFile, 'a');
  const args = [...(opts.nodeArgs ?? [])];
  // One directory per process (with tsx, its loader thread writes a second profile there).
  if (opts.profileDir) args.push('--cpu-prof', `--cpu-prof-dir=${join(opts.profileDir, opts.name)}`);
  const child = spawn(process.execPath, [...args, ...opts.runtime.args(entry)], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    stdio: ['ignore', fd, fd, ...(opts.ipc ? ['ipc' as const] : [])],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid!;
  return {
    name: opts.name,
    pid,
    logFile,
    process: child,
    exited,
    rssBytes: () => procStatusKb(pid, 'VmRSS') * 1024 || undefined,
    cpuMs: () => procCpuMs(pid),
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A real worker entry with its probe server on a free METRICS_PORT; resolves once /readyz answers 200. */
export async function startWorkerProcess(entry: string, opts: SpawnOptions & { readyTimeoutMs?: number }): Promise<NodeChild> {
  const port = await freePort();
  const child = spawnNode(entry, { ...opts, env: { ...opts.env, METRICS_PORT: String(port) } });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (child.process.exitCode !== null) throw new Error(`${opts.name} exited with ${child.process.exitCode}; see ${child.logFile}:\n${tail(child.logFile)}`);
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) return child;
    if (Date.now() > deadline) {
      await child.stop(1_000);
      throw new Error(`${opts.name} not ready in time; see ${child.logFile}:\n${tail(child.logFile)}`);
    }
    await sleep(100);
  }
}

/** A child that says `process.send('ready')` once it can work (the baseline worker). */
export async function startIpcProcess(entry: string, opts: SpawnOptions & { readyTimeoutMs?: number }): Promise<NodeChild> {
  const child = spawnNode(entry, { ...opts, ipc: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${opts.name} not ready in time; see ${child.logFile}`)), opts.readyTimeoutMs ?? 60_000);
    child.process.once('message', () => { clearTimeout(timer); resolve(); });
    child.process.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${opts.name} exited with ${code}:\n${tail(child.logFile)}`)); });
  });
  return child;
}

/** Samples the peak RSS of some processes while a run goes on. */
export function rssSampler(children: NodeChild[], everyMs = 200) {
  const peak = new Map<string, number>();
  const sample = () => {
    for (const c of children) {
      const rss = c.rssBytes();
      if (rss !== undefined) peak.set(c.name, Math.max(peak.get(c.name) ?? 0, rss));
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop(): Map<string, number> {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

function procStatusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** utime + stime from /proc/<pid>/stat, in ms (Linux clock ticks are 100 per second). */
export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

function tail(file: string, chars = 3_000): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
