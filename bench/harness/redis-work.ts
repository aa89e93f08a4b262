import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import type { BenchRedis } from './redis.js';

/**
 * What a run asked of Redis, from `INFO commandstats` and `INFO cpu` read before and after it. Redis runs commands
 * on one thread, so its CPU per delivery is the ceiling of the whole system however many workers run.
 */
export interface RedisWork {
  /** used_cpu_user + used_cpu_sys over the run (the whole process: main thread + AOF/background threads). */
  cpuMs: number;
  /** The same for the main thread alone (the one that runs commands; Redis ≥ 7 reports it). */
  mainThreadCpuMs?: number;
  /** Per command: calls and the time Redis spent in them (µs), as commandstats counts them. */
  commands: Record<string, { calls: number; usec: number }>;
}

/**
 * Commands run inside a script (EVALSHA / FCALL) are counted twice by commandstats: once as the script call and
 * once each on their own. The two kinds are split so neither total double-counts.
 */
export const SCRIPT_COMMANDS = new Set(['evalsha', 'eval', 'evalsha_ro', 'eval_ro', 'fcall', 'fcall_ro']);

export function redisWorkMeter(redis: Pick<BenchRedis, 'info'>) {
  const read = async () => ({ stats: parseCommandStats(await redis.info('commandstats')), cpu: await redis.info('cpu') });
  const startP = read();
  return {
    ready: startP.then(() => undefined),
    async stop(): Promise<RedisWork> {
      const a = await startP;
      const b = await read();
      const cpu = (i: Record<string, string>, suffix = '') => (Number(i[`used_cpu_user${suffix}`] ?? 0) + Number(i[`used_cpu_sys${suffix}`] ?? 0)) * 1000;
      const commands: RedisWork['commands'] = {};
      for (const [name, after] of Object.entries(b.stats)) {
        const before = a.stats[name] ?? { calls: 0, usec: 0 };
        const calls = after.calls - before.calls;
        if (calls > 0) commands[name] = { calls, usec: after.usec - before.usec };
      }
      const main = b.cpu.used_cpu_user_main_thread === undefined ? undefined : cpu(b.cpu, '_main_thread') - cpu(a.cpu, '_main_thread');
      return { cpuMs: cpu(b.cpu) - cpu(a.cpu), mainThreadCpuMs: main, commands };
    },
  };
}

/** `cmdstat_hset:calls=3,usec=12,usec_per_call=4.00,...` → { hset: { calls: 3, usec: 12 } }. */
export function parseCommandStats(info: Record<string, string>): Record<string, { calls: number; usec: number }> {
  const out: Record<string, { calls: number; usec: number }> = {};
  for (const [key, value] of Object.entries(info)) {
    if (!key.startsWith('cmdstat_')) continue;
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=') as [string, string]));
    out[key.slice('cmdstat_'.length)] = { calls: Number(fields.calls ?? 0), usec: Number(fields.usec ?? 0) };
  }
  return out;
}

/** Per delivery: calls and Redis µs by command, split into script calls and plain commands (see SCRIPT_COMMANDS). */
export function perDelivery(work: RedisWork, deliveries: number) {
  const rows = Object.entries(work.commands).map(([name, c]) => ({ name, calls: c.calls / deliveries, usec: c.usec / deliveries, script: SCRIPT_COMMANDS.has(name) }));
  rows.sort((x, y) => y.usec - x.usec);
  const topLevel = (names: string[]) => names.reduce((a, n) => a + (work.commands[n]?.calls ?? 0), 0) / deliveries;
  return {
    rows,
    scriptCalls: topLevel([...SCRIPT_COMMANDS]),
    /** Every command counted, script-internal ones included (what commandstats' totals add up to). */
    allCalls: rows.reduce((a, r) => a + r.calls, 0),
  };
}

/** sha1 of every BullMQ Lua script → its name (ioredis sends EVALSHA with the sha1 of the script text). */
export function bullmqScriptNames(): Map<string, string> {
  const dir = join('node_modules', 'bullmq', 'dist', 'esm', 'scripts');
  const names = new Map<string, string>();
  for (const file of readdirSync(dir).filter((f) => /^[a-zA-Z]+-\d+\.js$/.test(f))) {
    // The files are `const content = \`...\`; export const x = { name, content, keys }`: read the text, no import.
    const text = readFileSync(join(dir, file), 'utf8');
    const m = /const content = `([\s\S]*?)`;\s*export const/.exec(text);
    if (!m) continue;
    const content = m[1]!.replace(/\\([`\\$])/g, '$1');
    names.set(createHash('sha1').update(content).digest('hex'), `bullmq:${file.replace(/-\d+\.js$/, '')}`);
  }
  return names;
}

/**
 * Which script and command a short run sends, by name: MONITOR on a separate small run (MONITOR costs Redis CPU,
 * so the measured runs never have it on). EVALSHA is named by its sha (BullMQ's scripts by name; ours by the shape
 * of their first key, prefix and ids replaced).
 */
export async function monitorCalls(redisUrl: string, prefix: string, during: () => Promise<void>): Promise<Map<string, number>> {
  const scripts = bullmqScriptNames();
  const counts = new Map<string, number>();
  const count = (args: string[], source: string) => {
    const cmd = String(args[0] ?? '').toLowerCase();
    let label = cmd;
    if (cmd === 'evalsha' || cmd === 'eval') {
      const sha = String(args[1] ?? '');
      label = scripts.get(sha) ?? `script ${sha.slice(0, 8)} on ${keyShape(String(args[3] ?? ''), prefix)}`;
      // The harness's own progress polling (Queue.getJobCounts), not work of the side measured.
      if (label === 'bullmq:getCounts') return;
    }
    // Commands a script runs inside Redis show with source "lua": counted apart from what clients sent.
    if (source === 'lua') label = `lua ${label}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  };
  // A plain socket, not an ioredis client: MONITOR's stream of status lines is read line by line here.
  const { hostname, port } = new URL(redisUrl);
  const socket = connect(Number(port), hostname);
  socket.setEncoding('utf8');
  let buf = '';
  let started!: () => void;
  const ok = new Promise<void>((resolve) => { started = resolve; });
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\r\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 2);
      if (line === '+OK') started();
      const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
      if (m) count([...m[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => a[1]!), m[1]!);
    }
  });
  socket.on('error', () => {});
  socket.write('MONITOR\r\n');
  await ok;
  try {
    await during();
  } finally {
    socket.end();
    socket.destroy();
  }
  return counts;
}

/** `bt12ab:deliver-metabot:123` → `{p}:deliver-metabot:{id}`. */
export function keyShape(key: string, prefix: string): string {
  return key.split(prefix).join('{p}').replace(/\b[0-9a-f]{8,}\b|\b\d+\b|bt\w*?-\d+|bb\w*?-\d+/g, '{id}') || '(no key)';
}
