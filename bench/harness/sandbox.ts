import { spawn } from 'node:child_process';
import type { Runtime } from './runtime.js';
import type { RecordedRequest, SandboxCredentials, SandboxUrls, SandboxVendor, Twin24MessageView, VendorFaults } from '../../src/sandbox/index.js';

/**
 * The vendor sandbox in its own process (the CLI), driven through its /_sandbox control API: the HTTP sink every
 * scenario and the baseline send to, running apart so its work does not share the measured process's event loop.
 */
export interface BenchSandbox {
  url: string;
  urls: SandboxUrls;
  credentials: SandboxCredentials;
  pid: number;
  reset(): Promise<void>;
  setFaults(vendor: SandboxVendor, faults: VendorFaults): Promise<void>;
  maxInWindow(vendor: SandboxVendor, windowMs: number, path?: string): Promise<number>;
  requests(vendor: SandboxVendor, acceptedOnly?: boolean): Promise<RecordedRequest[]>;
  twin24Messages(): Promise<Twin24MessageView[]>;
  stop(): Promise<void>;
}

export interface SandboxTimeline { pendingAfterMs?: number; finalAfterMs?: number; resultAfterMs?: number }

export async function startBenchSandbox(runtime: Runtime, timeline: SandboxTimeline = {}): Promise<BenchSandbox> {
  const args = [...runtime.args('src/sandbox/cli.ts'), '--port', '0', '--quiet'];
  if (timeline.pendingAfterMs !== undefined) args.push('--pending-after-ms', String(timeline.pendingAfterMs));
  if (timeline.finalAfterMs !== undefined) args.push('--final-after-ms', String(timeline.finalAfterMs));
  if (timeline.resultAfterMs !== undefined) args.push('--result-after-ms', String(timeline.resultAfterMs));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  const exited = new Promise((r) => child.once('exit', r));
  const first = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code} before listening`)));
  });
  const started = JSON.parse(first) as { url: string; urls: SandboxUrls; credentials: SandboxCredentials };
  const control = `${started.url}/_sandbox`;
  const call = async <T>(path: string, init?: { method: 'POST'; body?: unknown }): Promise<T> => {
    const res = await fetch(`${control}${path}`, init && {
      method: init.method, headers: { 'content-type': 'application/json' }, body: init.body === undefined ? '' : JSON.stringify(init.body),
    });
    if (!res.ok) throw new Error(`sandbox ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<T>;
  };
  return {
    ...started,
    pid: child.pid!,
    reset: async () => { await call('/reset', { method: 'POST' }); },
    setFaults: async (vendor, faults) => { await call('/faults', { method: 'POST', body: { vendor, faults } }); },
    maxInWindow: async (vendor, windowMs, path) => {
      const q = new URLSearchParams({ vendor, windowMs: String(windowMs), ...(path ? { path } : {}) });
      return (await call<{ max: number }>(`/max-in-window?${q}`)).max;
    },
    requests: (vendor, acceptedOnly = false) => call<RecordedRequest[]>(`/requests?vendor=${vendor}&accepted=${acceptedOnly ? 1 : 0}`),
    twin24Messages: () => call<Twin24MessageView[]>('/twin24/messages'),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
