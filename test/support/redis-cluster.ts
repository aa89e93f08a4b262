import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { sleep } from './wait.js';

const run = promisify(execFile);

export interface TestRedisCluster {
  /** redis://127.0.0.1:PORT of each master, as REDIS_CLUSTER_NODES takes them. */
  nodes: string[];
  ports: number[];
  stop(): Promise<void>;
}

/**
 * A private 3-master Redis Cluster (no replicas) on free ports, made with `redis-cli --cluster create` (or, with
 * opts.slots, with CLUSTER ADDSLOTSRANGE + MEET).
 * Each node gets its bus port explicitly (cluster-port, Redis 7) so nothing assumes port + 10000 is free.
 * Needs redis-server and redis-cli (Debian: redis-server, redis-tools).
 */
export interface RedisClusterOptions {
  /** Extra redis-server arguments for every node (e.g. the bench's AOF settings). */
  args?: string[];
  /**
   * Slots to give to a chosen master (index into the masters); the others are split in equal ranges as
   * `redis-cli --cluster create` does. The cluster is then made with CLUSTER ADDSLOTSRANGE + MEET instead of redis-cli
   * (placing slots at creation: moving them afterwards races with the cluster's config-epoch gossip).
   */
  slots?: Array<[slot: number, master: number]>;
}

const SLOTS = 16_384;

/** Master index of every slot: equal ranges (redis-cli's split), then the overrides. */
export function slotOwners(masters: number, overrides: Array<[number, number]> = []): number[] {
  const owners = new Array<number>(SLOTS);
  const per = SLOTS / masters;
  let first = 0;
  for (let m = 0; m < masters; m++) {
    const last = m === masters - 1 ? SLOTS - 1 : Math.round(m * per + per - 1);
    for (let s = first; s <= last; s++) owners[s] = m;
    first = last + 1;
  }
  for (const [slot, m] of overrides) owners[slot] = m;
  return owners;
}

/** [from, to, from, to, …] of the slots a master owns (CLUSTER ADDSLOTSRANGE arguments). */
function rangesOf(owners: number[], m: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < owners.length; s++) {
    if (owners[s] !== m) continue;
    if (out.length && out[out.length - 1] === s - 1) out[out.length - 1] = s;
    else out.push(s, s);
  }
  return out;
}

export async function startRedisCluster(masters = 3, opts: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'order-notify-cluster-'));
  const procs: ChildProcess[] = [];
  const ports: number[] = [];
  const buses: number[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined
      : new Promise((r) => { p.once('exit', r); p.kill('SIGTERM'); }))));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const taken = new Set<number>();
    const fresh = async () => {
      for (;;) {
        const p = await freePort();
        if (!taken.has(p)) { taken.add(p); return p; }
      }
    };
    for (let i = 0; i < masters; i++) {
      // A port the OS handed out can be taken again before redis-server binds it (another test, the bus port of a
      // sibling): a node that exits at start is started again on fresh ports.
      for (let attempt = 1; ; attempt++) {
        const port = await fresh();
        const bus = await fresh();
        const proc = spawn('redis-server', [
          '--port', String(port), '--cluster-port', String(bus), '--bind', '127.0.0.1', '--dir', dir,
          '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--appenddirname', `appendonly-${port}`, '--cluster-node-timeout', '5000',
          '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', ...(opts.args ?? []),
        ], { stdio: 'ignore' });
        procs.push(proc);
        const exited = new Promise<boolean>((r) => proc.once('exit', () => r(true)));
        const failed = await Promise.race([waitForPing(port).then(() => false, () => true), exited]);
        if (!failed) {
          ports.push(port);
          buses.push(bus);
          break;
        }
        if (attempt === 3) throw new Error(`redis-server did not start on ${port} (3 tries)`);
      }
    }
    if (opts.slots?.length) {
      const owners = slotOwners(masters, opts.slots);
      for (const [m, port] of ports.entries()) {
        await withClient(port, async (c) => {
          await c.call('CLUSTER', 'SET-CONFIG-EPOCH', m + 1); // distinct epochs: no collision to resolve
          await c.call('CLUSTER', 'ADDSLOTSRANGE', ...rangesOf(owners, m));
        });
      }
      for (let m = 1; m < masters; m++) await withClient(ports[0]!, (c) => c.call('CLUSTER', 'MEET', '127.0.0.1', ports[m]!, buses[m]!));
    } else {
      await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    }
    for (const port of ports) await waitForClusterOk(port, masters);
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes: ports.map((p) => `redis://127.0.0.1:${p}`), ports, stop };
}

async function withClient<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

async function poll(what: string, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const waitForPing = (port: number) => poll(`redis-server on ${port}`, () => withClient(port, async (c) => (await c.ping()) === 'PONG'));
const waitForClusterOk = (port: number, masters: number) => poll(`cluster_state:ok on ${port}`, () => withClient(port, async (c) => {
  const info = String(await c.call('CLUSTER', 'INFO'));
  return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}\r\n`);
}));
